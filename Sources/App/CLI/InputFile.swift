import Foundation

/// Reads a whole input file ('-' for standard input) for the commands that take `--file`.
enum InputFile {
    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws -> [UInt8] {
        do {
            let handle = path == "-" ? FileHandle.standardInput : try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw ReadError(description: "cannot read \(path): \((error as NSError).localizedDescription)")
        }
    }
}
