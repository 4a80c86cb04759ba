import Glibc

/// Read-only bytes of a model file: an `mmap` of the whole file (pages are only read from disk
/// when touched) or, for files built in memory, an owned copy. Released on deinit.
final class GGUFMapping: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int
    private let isMapped: Bool

    private init(base: UnsafeRawPointer, size: Int, isMapped: Bool) {
        self.base = base
        self.size = size
        self.isMapped = isMapped
    }

    static func map(path: String) throws -> GGUFMapping {
        let fd = openReadOnly(path)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: errnoDescription()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError.cannotOpen(path: path, reason: errnoDescription()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw GGUFError.notRegularFile(path: path) }
        let size = Int(info.st_size)
        // mmap rejects empty mappings; an empty file is simply a truncated one.
        guard size > 0 else { return GGUFMapping(bytes: []) }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: errnoDescription())
        }
        return GGUFMapping(base: UnsafeRawPointer(pointer), size: size, isMapped: true)
    }

    convenience init(bytes: [UInt8]) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { source in
            if let start = source.baseAddress { storage.copyMemory(from: start, byteCount: source.count) }
        }
        self.init(base: UnsafeRawPointer(storage), size: bytes.count, isMapped: false)
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

private func openReadOnly(_ path: String) -> Int32 {
    open(path, O_RDONLY | O_CLOEXEC)
}

private func errnoDescription() -> String {
    String(cString: strerror(errno))
}
