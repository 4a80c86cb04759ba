import Crypto
import HTTPServer

/// The HTTP server's limits, timeouts and TLS files as `popi serve` takes them (flags and env).
struct HTTPOptions: Sendable {
    var maxConnections = 4096
    var maxBodyBytes = 1 << 20
    var maxHeaderBytes = 32 * 1024
    var maxRequestLineBytes = 8 * 1024
    var headerTimeout: Duration = .seconds(10)
    var bodyIdleTimeout: Duration = .seconds(30)
    var keepAliveTimeout: Duration = .seconds(60)
    var writeTimeout: Duration = .seconds(30)
    var shutdownGracePeriod: Duration = .seconds(10)
    var tlsCertificatePath: String?
    var tlsKeyPath: String?

    init() {}

    /// Thrown for a TLS certificate without a key or the other way round.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
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
