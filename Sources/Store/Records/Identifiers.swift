public import Foundation

/// Typed ids, so a user id can never be passed where an event id belongs.
public protocol StoreIdentifier: Hashable, Sendable, PostgresEncodable, PostgresDecodable, CustomStringConvertible {
    associatedtype RawValue: PostgresEncodable & PostgresDecodable & Hashable & Sendable
    var rawValue: RawValue { get }
    init(rawValue: RawValue)
}

extension StoreIdentifier {
    public static var postgresType: PostgresType { RawValue.postgresType }
    public func encodePostgres(into buffer: inout [UInt8]) throws { try rawValue.encodePostgres(into: &buffer) }
    public init(postgresCell cell: PostgresCell) throws { self.init(rawValue: try RawValue(postgresCell: cell)) }
    public var description: String { "\(rawValue)" }
}

public struct TenantID: StoreIdentifier {
    public let rawValue: UUID
    public init(rawValue: UUID) { self.rawValue = rawValue }
}

public struct APIKeyID: StoreIdentifier {
    public let rawValue: UUID
    public init(rawValue: UUID) { self.rawValue = rawValue }
}

/// Internal user id (the row id); the App's user id is `User.externalID`, unique per tenant.
public struct UserID: StoreIdentifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}

public struct EventID: StoreIdentifier, Comparable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static func < (lhs: EventID, rhs: EventID) -> Bool { lhs.rawValue < rhs.rawValue }
}

public struct JobID: StoreIdentifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
