import Testing
@testable import HTTPServer

/// Request body memory follows the bytes received, not the length a client declares.
@Suite struct BodyBufferTests {
    /// Allocators round a request up (to a page, for large blocks).
    static let rounding = 4096

    private func append(_ count: Int, to buffer: inout BodyBuffer) -> Int {
        let bytes = [UInt8](repeating: 0x61, count: count)
        return bytes.withUnsafeBytes { buffer.append($0) }
    }

    @Test func aFewBytesOfALargeDeclaredBodyReserveAFewKiB() {
        var buffer = BodyBuffer(ceiling: 1_000_000)
        let grown = append(10, to: &buffer)
        #expect(buffer.count == 10)
        #expect(grown == buffer.capacity)
        #expect(buffer.capacity >= 10 && buffer.capacity <= BodyBuffer.initialCapacity + Self.rounding)
    }

    @Test func capacityDoublesAndNeverPassesTheCeiling() {
        let ceiling = 300_000
        var buffer = BodyBuffer(ceiling: ceiling)
        var capacities: [Int] = []
        for _ in 0..<(ceiling / 1000) {
            _ = append(1000, to: &buffer)
            if capacities.last != buffer.capacity { capacities.append(buffer.capacity) }
            #expect(buffer.capacity <= ceiling + Self.rounding)
            #expect(buffer.capacity <= max(2 * buffer.count, BodyBuffer.initialCapacity) + Self.rounding)
        }
        #expect(buffer.count == ceiling)
        #expect(capacities.count <= 8, "amortized growth: \(capacities)")
    }

    @Test func takeHandsOverTheBytesAndEmptiesTheBuffer() {
        var buffer = BodyBuffer(ceiling: 100)
        _ = append(3, to: &buffer)
        #expect(buffer.take() == [0x61, 0x61, 0x61])
        #expect(buffer.count == 0 && buffer.capacity == 0)
    }

    /// Many clients declaring 1 MB bodies and sending ten bytes each cost the server what they
    /// sent (rounded to a few KiB), not what they declared.
    @Test func connectionsDeclaringLargeBodiesReserveOnlyForWhatArrived() async throws {
        let server = try TestServer()
        var clients: [RawClient] = []
        for _ in 0..<8 {
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n0123456789")
            clients.append(client)
        }
        for _ in 0..<500 where server.server.statistics.bufferedBodyBytes < 80 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let statistics = server.server.statistics
        #expect(statistics.bufferedBodyBytes == 80)
        #expect(statistics.reservedBodyBytes <= 8 * (BodyBuffer.initialCapacity + Self.rounding),
                "\(statistics.reservedBodyBytes) bytes reserved for 80 received")
        clients.forEach { $0.hangUp() }
        await server.stop()
        #expect(server.server.statistics.reservedBodyBytes == 0, "every buffer is given back")
        #expect(server.server.statistics.bufferedBodyBytes == 0)
    }
}
