/// Why TLS could not be set up; the text names the file, never key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
