import CKernels
import Glibc

/// A weight matrix (`rows` outputs of `columns` inputs) in the layout its matmul kernel reads.
///
/// Q4_0 / Q4_1 and Q8_0 are regrouped once at load (see CKernels.h: one register lane per
/// 32-element block) into memory owned here; the values are unchanged (same quants, same f16
/// scales). Every other type stays a view into the mapped file and is converted to f32 row by
/// row while multiplying.
public final class PackedMatrix: @unchecked Sendable {
    public enum Format: Sendable, Equatable {
        /// 4-bit quants with f16 scale and min per block (from Q4_0 or Q4_1).
        case q4
        /// 8-bit quants biased by 128 with an f16 scale per block (from Q8_0).
        case q8
        /// The file's own bytes (F32, F16, BF16, Q5_x, K-quants), converted per row.
        case rows(GGMLType)
    }

    public let name: String
    public let format: Format
    /// Type in the file.
    public let sourceType: GGMLType
    public let rows: Int
    public let columns: Int
    /// Bytes from one row to the next.
    let rowStride: Int
    let base: UnsafeRawPointer
    /// Owner of the regrouped bytes (its own buffer or a shared arena), nil for a view.
    private let storage: AnyObject?

    /// Bytes the regrouped form of `view` takes (0 when it stays a view of the file).
    static func packedByteCount(_ view: TensorView) -> Int {
        switch view.type {
        case .q4_0, .q4_1: return Int(ck_q4_layout_for(Int32(view.rowLength)).rowBytes) * view.rowCount
        case .q8_0: return Int(ck_q8_layout_for(Int32(view.rowLength)).rowBytes) * view.rowCount
        default: return 0
        }
    }

    /// Packs `view` (a 2-D weight, one row per output), into `arena` if given. With
    /// `releaseSource`, the file pages of a regrouped tensor are dropped from memory afterwards
    /// (they are not read again).
    public convenience init(_ view: TensorView, releaseSource: Bool = true) throws {
        try self.init(view, releaseSource: releaseSource, arena: nil)
    }

    init(_ view: TensorView, releaseSource: Bool, arena: WeightArena?) throws {
        guard view.dimensions.count <= 2, view.rowLength > 0 else {
            throw QuantError.rowLengthNotMultipleOfBlock(type: view.type, length: view.rowLength)
        }
        try RowDequantizer.validate(type: view.type, rowLength: view.rowLength)
        name = view.name
        sourceType = view.type
        rows = view.rowCount
        columns = view.rowLength
        switch view.type {
        case .q4_0, .q4_1:
            guard columns % 32 == 0 else { throw QuantError.rowLengthNotMultipleOfBlock(type: view.type, length: columns) }
            format = .q4
            let layout = ck_q4_layout_for(Int32(columns))
            rowStride = Int(layout.rowBytes)
            let (memory, owner) = Self.allocate(rowStride * rows, arena)
            for r in 0..<rows {
                Self.packQ4(view.row(r), type: view.type, layout: layout, into: memory + r * rowStride)
            }
            storage = owner
            base = UnsafeRawPointer(memory)
        case .q8_0:
            format = .q8
            let layout = ck_q8_layout_for(Int32(columns))
            rowStride = Int(layout.rowBytes)
            let (memory, owner) = Self.allocate(rowStride * rows, arena)
            for r in 0..<rows {
                Self.packQ8(view.row(r), layout: layout, into: memory + r * rowStride)
            }
            storage = owner
            base = UnsafeRawPointer(memory)
        default:
            format = .rows(view.type)
            rowStride = view.rowBytes
            storage = nil
            base = view.data
        }
        if releaseSource, storage != nil { Self.release(view.data, byteCount: view.byteCount) }
    }

    func row(_ index: Int) -> UnsafeRawPointer { base + index * rowStride }

    private static func allocate(_ bytes: Int, _ arena: WeightArena?) -> (UnsafeMutableRawPointer, AnyObject) {
        if let arena { return (arena.allocate(bytes), arena) }
        let buffer = AlignedBuffer(byteCount: bytes)
        return (buffer.pointer, buffer)
    }

    /// Row `index` as f32, exactly as ggml dequantizes the source type.
    public func dequantizeRow(_ index: Int, into y: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < rows, "row \(index) outside 0..<\(rows)")
        let r = row(index)
        switch format {
        case .rows(let type):
            RowDequantizer.dequantize(type, from: r, count: columns, into: y)
        case .q4:
            let l = ck_q4_layout_for(Int32(columns))
            let full = Int(l.fullGroups)
            for block in 0..<Int(l.blocks) {
                let d = HalfPrecision.loadHalf(r, Int(l.scaleOffset) + 2 * block)
                let m = HalfPrecision.loadHalf(r, Int(l.minOffset) + 2 * block)
                let out = y + 32 * block
                for j in 0..<16 {
                    let byte = r.load(fromByteOffset: Self.q4Offset(block: block, byte: j, fullGroups: full), as: UInt8.self)
                    if sourceType == .q4_0 {
                        out[j] = Float(Int(byte & 0x0F) - 8) * d
                        out[j + 16] = Float(Int(byte >> 4) - 8) * d
                    } else {
                        out[j] = Float(byte & 0x0F) * d + m
                        out[j + 16] = Float(byte >> 4) * d + m
                    }
                }
            }
        case .q8:
            let l = ck_q8_layout_for(Int32(columns))
            let full = Int(l.fullGroups)
            for block in 0..<Int(l.blocks) {
                let d = HalfPrecision.loadHalf(r, Int(l.scaleOffset) + 2 * block)
                for j in 0..<32 {
                    let u = r.load(fromByteOffset: Self.q8Offset(block: block, element: j, fullGroups: full), as: UInt8.self)
                    y[32 * block + j] = Float(Int8(bitPattern: u ^ 0x80)) * d
                }
            }
        }
    }

    // MARK: Packing

    /// Q4_0 {d, qs[16]} / Q4_1 {d, m, qs[16]} blocks to the packed 4-bit layout. A quant byte
    /// already holds element j (low nibble) and j + 16 (high nibble), so slab p lane b is bytes
    /// 4p..<4p+4 of block b's qs. Q4_0's implicit offset becomes m = -8d (exact in f16).
    private static func packQ4(_ src: UnsafeRawPointer, type: GGMLType, layout l: ck_q4_layout,
                               into dst: UnsafeMutableRawPointer) {
        let blockBytes = type == .q4_0 ? 18 : 20
        let qsOffset = type == .q4_0 ? 2 : 4
        let full = Int(l.fullGroups)
        for block in 0..<Int(l.blocks) {
            let s = src + block * blockBytes
            let dBits = s.loadUnaligned(as: UInt16.self)
            let mBits = type == .q4_0
                ? HalfPrecision.half(from: -8 * HalfPrecision.float(fromHalf: UInt16(littleEndian: dBits))).littleEndian
                : s.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
            dst.storeBytes(of: dBits, toByteOffset: Int(l.scaleOffset) + 2 * block, as: UInt16.self)
            dst.storeBytes(of: mBits, toByteOffset: Int(l.minOffset) + 2 * block, as: UInt16.self)
            if block < full * 16 {
                for p in 0..<4 {
                    (dst + q4Offset(block: block, byte: 4 * p, fullGroups: full)).copyMemory(from: s + qsOffset + 4 * p, byteCount: 4)
                }
            } else {
                (dst + q4Offset(block: block, byte: 0, fullGroups: full)).copyMemory(from: s + qsOffset, byteCount: 16)
            }
        }
    }

    /// Q8_0 {d, qs[32]} blocks to the packed 8-bit layout (quants + 128 as unsigned bytes).
    private static func packQ8(_ src: UnsafeRawPointer, layout l: ck_q8_layout, into dst: UnsafeMutableRawPointer) {
        let full = Int(l.fullGroups)
        // A missing second block of the last tail pair reads as zero quants.
        let tailStart = full * 512
        for i in tailStart..<Int(l.scaleOffset) { dst.storeBytes(of: 0x80, toByteOffset: i, as: UInt8.self) }
        for block in 0..<Int(l.blocks) {
            let s = src + block * 34
            dst.storeBytes(of: s.loadUnaligned(as: UInt16.self), toByteOffset: Int(l.scaleOffset) + 2 * block, as: UInt16.self)
            for j in 0..<32 {
                let u = s.load(fromByteOffset: 2 + j, as: UInt8.self) ^ 0x80
                dst.storeBytes(of: u, toByteOffset: q8Offset(block: block, element: j, fullGroups: full), as: UInt8.self)
            }
        }
    }

    /// Where quant byte j (elements j and j + 16) of Q4 block `block` sits in a packed 4-bit row with
    /// `fullGroups` full groups; in a full group, runs of 4 bytes are contiguous, in a tail all 16.
    private static func q4Offset(block: Int, byte j: Int, fullGroups full: Int) -> Int {
        if block < full * 16 {
            return (block / 16) * 256 + (j / 4) * 64 + (block % 16) * 4 + j % 4
        }
        let t = block - full * 16
        return full * 256 + (t / 2) * 32 + (t % 2) * 16 + j
    }

    /// Where element j of Q8 block `block` sits in a packed 8-bit row with `fullGroups` full groups.
    private static func q8Offset(block: Int, element j: Int, fullGroups full: Int) -> Int {
        if block < full * 16 {
            return (block / 16) * 512 + (j / 4) * 64 + (block % 16) * 4 + j % 4
        }
        let t = block - full * 16
        return full * 512 + (t / 2) * 64 + (j / 16) * 32 + (t % 2) * 16 + j % 16
    }

    /// Drops the mapped file pages of a tensor that has been copied, so they no longer count as
    /// resident memory (they are read again from the file if ever touched).
    private static func release(_ data: UnsafeRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: data) + page - 1) / page * page
        let end = (Int(bitPattern: data) + byteCount) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, Int32(MADV_DONTNEED))
    }
}
