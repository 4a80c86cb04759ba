import Crypto
import Testing
@testable import App

@Suite struct APIKeySecretTests {
    @Test func generatedKeysParseAndDiffer() throws {
        let a = try APIKeySecret.generate(), b = try APIKeySecret.generate()
        #expect(a != b)
        #expect(a.full.hasPrefix("popi_\(a.prefix)_"))
        #expect(a.full.count == 5 + 12 + 1 + 32)
        #expect(APIKeySecret(parsing: a.full) == a)
        #expect(a.hash.count == 32)
        #expect(SHA256.digestsEqual(a.hash, APIKeySecret(parsing: a.full)!.hash))
        #expect(!SHA256.digestsEqual(a.hash, b.hash))
        #expect(APIKeySecret(parsing: "popi_ABCdef012345_abcdefghijklmnopqrstuvwxyzABCDEF").map { ($0.prefix, $0.full) }
                    .map { $0 == "ABCdef012345" && $1 == "popi_ABCdef012345_abcdefghijklmnopqrstuvwxyzABCDEF" } == true)
    }

    @Test func malformedKeysAreRejected() {
        for text in ["", "popi", "popi__", "sk_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345",
                     "popi_abcdefghijk_abcdefghijklmnopqrstuvwxyz012345",
                     "popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz01234!",
                     "popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345_x",
                     "Popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345", "popi-abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345",
                     "popi_abcdefghijkl-abcdefghijklmnopqrstuvwxyz012345", "popi_abcdefghij_l_abcdefghijklmnopqrstuvwxyz012345",
                     "popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz01234é", "popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz0123 5"] {
            #expect(APIKeySecret(parsing: text) == nil, "\(text)")
        }
    }
}
