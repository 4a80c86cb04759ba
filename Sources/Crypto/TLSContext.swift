import COpenSSL

/// An OpenSSL server context: TLS 1.2 and 1.3 only, certificate and key loaded once.
public final class TLSContext: @unchecked Sendable {
    // SSL_CTX is internally reference counted and safe to share once configured.
    let context: OpaquePointer

    public init(_ configuration: TLSConfiguration) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError(description: "cannot create a TLS context") }
        self.context = context
        guard popi_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1,
              popi_SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1 else {
            throw TLSError(description: "cannot restrict TLS to versions 1.2 and 1.3")
        }
        _ = popi_SSL_CTX_set_server_options(context)
        _ = popi_SSL_CTX_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
            throw TLSError(description: "cannot load the TLS certificate \(configuration.certificatePath): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError(description: "cannot load the TLS private key \(configuration.privateKeyPath): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(description: "the TLS private key does not match the certificate")
        }
    }

    deinit { SSL_CTX_free(context) }

    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
