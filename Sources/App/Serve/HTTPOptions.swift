import Crypto
import HTTPServer

/// The HTTP server's limits, timeouts and TLS files as `popi serve` takes them (flags and env).
public struct HTTPOptions: Sendable {
    public var maxConnections = 4096
    public var maxBodyBytes = 1 << 20
    public var maxHeaderBytes = 32 * 1024
    public var maxRequestLineBytes = 8 * 1024
    public var headerTimeout: Duration = .seconds(10)
    public var bodyIdleTimeout: Duration = .seconds(30)
    public var keepAliveTimeout: Duration = .seconds(60)
    public var writeTimeout: Duration = .seconds(30)
    public var shutdownGracePeriod: Duration = .seconds(10)
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?

    public init() {}

    /// Thrown for a TLS certificate without a key or the other way round.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    func serverConfiguration(host: String, port: Int) throws -> HTTPServerConfiguration {
        var tls: TLSConfiguration?
        switch (tlsCertificatePath, tlsKeyPath) {
        case (let certificate?, let key?): tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
        case (nil, nil): tls = nil
        default: throw Invalid(description: "--tls-cert and --tls-key go together")
        }
        return HTTPServerConfiguration(
            host: host, port: port,
            limits: .init(maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes,
                          maxBodyBytes: maxBodyBytes),
            maxConnections: maxConnections, headerTimeout: headerTimeout, bodyIdleTimeout: bodyIdleTimeout,
            keepAliveTimeout: keepAliveTimeout, writeTimeout: writeTimeout, tls: tls)
    }
}
