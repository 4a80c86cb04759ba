import Testing
@testable import Store

/// Which server errors a client may retry. (A full disk against a real server: scripts/chaos.sh,
/// scenario 6.)
struct StoreErrorTests {
    static func server(_ sqlState: String) -> StoreError {
        .server(ServerError(sqlState: sqlState, message: "m", detail: nil, constraint: nil))
    }

    @Test func aFullDiskAndOtherMissingResourcesAreTransientButAConstraintIsNot() {
        #expect(Self.server("53100").isTransient)
        #expect(Self.server("53300").isTransient)
        #expect(Self.server("57P01").isTransient)
        #expect(!Self.server("23505").isTransient)
        #expect(!Self.server("42601").isTransient)
    }

    @Test func onlyDiskFullIsOutOfSpace() {
        #expect(ServerError(sqlState: "53100", message: "m", detail: nil, constraint: nil).isOutOfSpace)
        #expect(!ServerError(sqlState: "53200", message: "m", detail: nil, constraint: nil).isOutOfSpace)
    }
}
