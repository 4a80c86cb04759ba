/// A PostgreSQL type, identified by its OID (the built-in ones are fixed across servers).
public struct PostgresType: Hashable, Sendable, CustomStringConvertible {
    public let oid: UInt32

    public init(oid: UInt32) { self.oid = oid }

    public static let bool = PostgresType(oid: 16)
    public static let bytea = PostgresType(oid: 17)
    public static let name = PostgresType(oid: 19)
    public static let int8 = PostgresType(oid: 20)
    public static let int2 = PostgresType(oid: 21)
    public static let int4 = PostgresType(oid: 23)
    public static let text = PostgresType(oid: 25)
    public static let json = PostgresType(oid: 114)
    public static let float4 = PostgresType(oid: 700)
    public static let float8 = PostgresType(oid: 701)
    public static let unknown = PostgresType(oid: 705)
    public static let bpchar = PostgresType(oid: 1042)
    public static let varchar = PostgresType(oid: 1043)
    public static let timestamp = PostgresType(oid: 1114)
    public static let timestamptz = PostgresType(oid: 1184)
    public static let uuid = PostgresType(oid: 2950)
    public static let jsonb = PostgresType(oid: 3802)

    public static let boolArray = PostgresType(oid: 1000)
    public static let byteaArray = PostgresType(oid: 1001)
    public static let int2Array = PostgresType(oid: 1005)
    public static let int4Array = PostgresType(oid: 1007)
    public static let textArray = PostgresType(oid: 1009)
    public static let varcharArray = PostgresType(oid: 1015)
    public static let int8Array = PostgresType(oid: 1016)
    public static let float8Array = PostgresType(oid: 1022)
    public static let timestamptzArray = PostgresType(oid: 1185)
    public static let uuidArray = PostgresType(oid: 2951)
    public static let jsonbArray = PostgresType(oid: 3807)

    /// The array type whose elements are of this type, for the types popi binds.
    public var arrayType: PostgresType? {
        switch self {
        case .bool: return .boolArray
        case .bytea: return .byteaArray
        case .int2: return .int2Array
        case .int4: return .int4Array
        case .int8: return .int8Array
        case .text: return .textArray
        case .varchar: return .varcharArray
        case .float8: return .float8Array
        case .timestamptz: return .timestamptzArray
        case .uuid: return .uuidArray
        case .jsonb: return .jsonbArray
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .bool: return "bool"
        case .bytea: return "bytea"
        case .name: return "name"
        case .int8: return "bigint"
        case .int2: return "smallint"
        case .int4: return "integer"
        case .text: return "text"
        case .json: return "json"
        case .float4: return "real"
        case .float8: return "double precision"
        case .varchar: return "varchar"
        case .timestamp: return "timestamp"
        case .timestamptz: return "timestamptz"
        case .uuid: return "uuid"
        case .jsonb: return "jsonb"
        case .textArray: return "text[]"
        case .int8Array: return "bigint[]"
        case .int4Array: return "integer[]"
        case .uuidArray: return "uuid[]"
        case .jsonbArray: return "jsonb[]"
        case .timestamptzArray: return "timestamptz[]"
        default: return "oid \(oid)"
        }
    }
}
