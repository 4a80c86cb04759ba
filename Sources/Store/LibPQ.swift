import CLibPQ

/// Facts about the linked libpq.
public enum LibPQ {
    /// libpq's version as an integer, e.g. 150018 for 15.18.
    public static var version: Int { Int(PQlibVersion()) }
}
