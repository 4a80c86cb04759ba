/// PEM files for HTTPS. The certificate file may hold the whole chain, leaf first.
public struct TLSConfiguration: Sendable, Equatable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// Why TLS could not be set up; the text names the file, never key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
