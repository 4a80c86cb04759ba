import COpenSSL

/// Bytes from OpenSSL's CSPRNG (seeded from the kernel).
public enum SecureRandom {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "the system random generator is unavailable" }
    }

    public static func bytes(_ count: Int) throws(Unavailable) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count == 0 || RAND_bytes(&bytes, Int32(count)) == 1 else { throw Unavailable() }
        return bytes
    }
}
