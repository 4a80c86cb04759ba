extension String {
    /// Control characters (C0, DEL, C1) have no place in ids and names: they break logs and headers.
    var containsControlCharacters: Bool {
        unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
