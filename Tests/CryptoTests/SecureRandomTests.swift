import Testing
import Crypto

@Suite struct SecureRandomTests {
    @Test func bytesHaveTheLengthAskedAndDiffer() throws {
        #expect(try SecureRandom.bytes(0).isEmpty)
        let a = try SecureRandom.bytes(32), b = try SecureRandom.bytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b, "two 256-bit draws never collide")
        // Not a statistical test: 4 KiB of output uses most byte values.
        #expect(Set(try SecureRandom.bytes(4096)).count > 200)
    }
}
