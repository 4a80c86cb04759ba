import Foundation
import Glibc

/// The optimizer's state file, little-endian:
///
///     "POPIADAM"  version u32 = 1  reserved u32 = 0
///     steps u64
///     schedule: peak f64, warm-up steps u64, total steps u64, decay u32 (0 constant, 1 cosine), 0 u32, floor f64
///     beta1 f64, beta2 f64, epsilon f64, weight decay f64, clipping u32 (0 off, 1 on), 0 u32, max norm f64
///     layer count u32, slot count u32, parameter count u64
///     per slot: layer u32, projection u32, rank u32, inputs u32, outputs u32, 0 u32, offset u64
///     first moments f32 × parameter count, second moments f32 × parameter count
///     FNV-1a 64 of every byte above, u64
///
/// The layout is stored so a state is never restored onto another adapter's values.
extension AdamW {
    static let stateMagic = Array("POPIADAM".utf8)
    static let stateVersion: UInt32 = 1
    /// Bytes before the slots.
    static let stateHeaderBytes = 128
    static let stateSlotBytes = 32

    /// Writes the state to `path` atomically: a temporary file beside it, flushed to disk, then
    /// renamed over `path`, so a crash leaves the old state or the new one, never a mix.
    public func save(to path: String) throws(OptimizerError) {
        let count = layout.parameterCount
        var out: [UInt8] = []
        out.reserveCapacity(Self.stateHeaderBytes + Self.stateSlotBytes * layout.slots.count + 8 * count + 8)
        out += Self.stateMagic
        Self.put(&out, Self.stateVersion)
        Self.put(&out, UInt32(0))
        Self.put(&out, UInt64(steps))
        let schedule = settings.schedule
        Self.put(&out, schedule.peak.bitPattern)
        Self.put(&out, UInt64(schedule.warmupSteps))
        Self.put(&out, UInt64(schedule.totalSteps))
        switch schedule.decay {
        case .constant:
            Self.put(&out, UInt32(0))
            Self.put(&out, UInt32(0))
            Self.put(&out, Double(0).bitPattern)
        case .cosine(let floor):
            Self.put(&out, UInt32(1))
            Self.put(&out, UInt32(0))
            Self.put(&out, floor.bitPattern)
        }
        for value in [settings.beta1, settings.beta2, settings.epsilon, settings.weightDecay] { Self.put(&out, value.bitPattern) }
        Self.put(&out, UInt32(settings.maxGradientNorm == nil ? 0 : 1))
        Self.put(&out, UInt32(0))
        Self.put(&out, (settings.maxGradientNorm ?? 0).bitPattern)
        Self.put(&out, UInt32(layout.layerCount))
        Self.put(&out, UInt32(layout.slots.count))
        Self.put(&out, UInt64(count))
        for slot in layout.slots {
            for value in [slot.layer, slot.projection.rawValue, slot.rank, slot.inputs, slot.outputs, 0] { Self.put(&out, UInt32(value)) }
            Self.put(&out, UInt64(slot.offset))
        }
        // Floats are stored as the (little-endian) machine holds them.
        out += UnsafeRawBufferPointer(start: firstMoment, count: 4 * count)
        out += UnsafeRawBufferPointer(start: secondMoment, count: 4 * count)
        Self.put(&out, Self.checksum(out[...]))
        try Self.writeAtomically(out, to: path)
    }

    /// The state saved at `path`, for an adapter of `layout`.
    public convenience init(restoringFrom path: String, layout: LoRALayout) throws(OptimizerError) {
        let bytes = try Self.readFile(path)
        var reader = StateReader(bytes: bytes)
        guard bytes.prefix(Self.stateMagic.count).elementsEqual(Self.stateMagic.prefix(bytes.count)) else {
            throw .notAStateFile(path: path)
        }
        guard bytes.count >= Self.stateHeaderBytes else { throw .truncatedState(path: path) }
        reader.offset = Self.stateMagic.count
        let version: UInt32 = reader.read()
        guard version == Self.stateVersion else { throw .unsupportedStateVersion(path: path, version: version) }
        let _: UInt32 = reader.read()
        let steps: UInt64 = reader.read()
        let peak = Double(bitPattern: reader.read()), warmup: UInt64 = reader.read(), total: UInt64 = reader.read()
        let decayKind: UInt32 = reader.read()
        let _: UInt32 = reader.read()
        let floor = Double(bitPattern: reader.read())
        let beta1 = Double(bitPattern: reader.read()), beta2 = Double(bitPattern: reader.read())
        let epsilon = Double(bitPattern: reader.read()), weightDecay = Double(bitPattern: reader.read())
        let clipping: UInt32 = reader.read()
        let _: UInt32 = reader.read()
        let maxNorm = Double(bitPattern: reader.read())
        let layerCount: UInt32 = reader.read(), slotCount: UInt32 = reader.read(), parameterCount: UInt64 = reader.read()

        // The size the counts imply, checked before anything is read past the header.
        let (slotBytes, o1) = Int(slotCount).multipliedReportingOverflow(by: Self.stateSlotBytes)
        let (momentBytes, o2) = (parameterCount > UInt64(Int.max / 8) ? (0, true) : (Int(parameterCount) * 8, false))
        let expected = Self.stateHeaderBytes + slotBytes + momentBytes + 8
        guard !o1, !o2, bytes.count >= expected else { throw .truncatedState(path: path) }
        guard bytes.count == expected else { throw .invalidState(path: path, reason: "unexpected bytes after the checksum") }
        var tail = StateReader(bytes: bytes)
        tail.offset = expected - 8
        guard tail.read() == Self.checksum(bytes[..<(expected - 8)]) else { throw .stateChecksumMismatch(path: path) }

        guard decayKind <= 1, clipping <= 1, steps <= UInt64(Int.max), warmup <= UInt64(Int.max), total <= UInt64(Int.max) else {
            throw .invalidState(path: path, reason: "a field holds an unknown value")
        }
        let settings = AdamWSettings(
            schedule: LearningRateSchedule(peak: peak, warmupSteps: Int(warmup), totalSteps: Int(total),
                                           decay: decayKind == 0 ? .constant : .cosine(floor: floor)),
            beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, maxGradientNorm: clipping == 0 ? nil : maxNorm)
        guard Int(layerCount) == layout.layerCount, Int(slotCount) == layout.slots.count,
              parameterCount == UInt64(layout.parameterCount) else {
            throw .stateLayoutMismatch(path: path)
        }
        for slot in layout.slots {
            var fields: [UInt32] = []
            for _ in 0..<6 { fields.append(reader.read()) }
            let offset: UInt64 = reader.read()
            let stored = [slot.layer, slot.projection.rawValue, slot.rank, slot.inputs, slot.outputs, 0].map(UInt32.init)
            guard fields == stored, offset == UInt64(slot.offset) else { throw .stateLayoutMismatch(path: path) }
        }
        do {
            try self.init(layout: layout, settings: settings)
        } catch {
            throw .invalidState(path: path, reason: error.description)
        }
        self.steps = Int(steps)
        let count = layout.parameterCount
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(firstMoment).copyMemory(from: raw.baseAddress! + reader.offset, byteCount: 4 * count)
            UnsafeMutableRawPointer(secondMoment).copyMemory(from: raw.baseAddress! + reader.offset + 4 * count, byteCount: 4 * count)
        }
    }

    private static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    /// FNV-1a, 64 bits.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }

    /// Repeats `step(done)`, a read or write of the rest that returns its byte count, until
    /// `count` bytes are done; nil, or why it stopped short.
    private static func transfer(_ count: Int, _ step: (_ done: Int) -> Int) -> String? {
        var done = 0
        while done < count {
            let n = step(done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? "the file ended early" : errorText() }
            done += n
        }
        return nil
    }

    private static func writeAtomically(_ bytes: [UInt8], to path: String) throws(OptimizerError) {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: temporary, reason: errorText()) }
        var failure = bytes.withUnsafeBytes { raw in
            transfer(raw.count) { done in write(fd, raw.baseAddress! + done, raw.count - done) }
        }.map { OptimizerError.io(operation: "write", path: temporary, reason: $0) }
        if failure == nil, fsync(fd) != 0 { failure = .io(operation: "flush", path: temporary, reason: errorText()) }
        if close(fd) != 0, failure == nil { failure = .io(operation: "close", path: temporary, reason: errorText()) }
        if failure == nil, rename(temporary, path) != 0 { failure = .io(operation: "replace", path: path, reason: errorText()) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    private static func readFile(_ path: String) throws(OptimizerError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, reason: errorText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "read", path: path, reason: errorText()) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let failure = bytes.withUnsafeMutableBytes { raw in
            transfer(raw.count) { done in read(fd, raw.baseAddress! + done, raw.count - done) }
        }
        if let failure { throw .io(operation: "read", path: path, reason: failure) }
        return bytes
    }
}

/// Reads little-endian fields of a state file whose size has been checked first.
private struct StateReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func read<T: FixedWidthInteger>() -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for i in 0..<MemoryLayout<T>.size { raw[i] = bytes[offset + i] }
        }
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }
}
