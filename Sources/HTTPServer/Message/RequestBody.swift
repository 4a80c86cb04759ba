/// A request body. The handler runs as soon as the request head is in, so routing and
/// authentication never wait for a body: the server reads it only when the handler first calls
/// `collect` (after sending `100 Continue` when the client sent `Expect: 100-continue`), and a
/// body can be collected once. A handler that answers without asking gets its response sent; a
/// body already received in full is skipped, one still arriving is not read and the connection
/// closes, so an upload the handler did not want costs nothing to refuse.
public struct RequestBody: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])
        case deferred(any DeferredRequestBody)
    }

    let storage: Storage

    public static let empty = RequestBody(bytes: [])

    public init(bytes: [UInt8]) { storage = .bytes(bytes) }

    init(deferred: any DeferredRequestBody) { storage = .deferred(deferred) }

    /// The whole body. Throws `HTTPError` 413 (`payload_too_large`) when it is longer than `limit`,
    /// and `CancellationError` when the client went away.
    public func collect(upTo limit: Int = .max) async throws -> [UInt8] {
        switch storage {
        case .bytes(let bytes):
            guard bytes.count <= limit else { throw HTTPError.payloadTooLarge(limit: limit) }
            return bytes
        case .deferred(let source):
            return try await source.collect(upTo: limit)
        }
    }
}

protocol DeferredRequestBody: Sendable {
    func collect(upTo limit: Int) async throws -> [UInt8]
}
