import ArgumentParser
import Foundation

/// A command's error, printed as `popi <command>: <description>` and exiting with status 1.
/// Descriptions of popi's errors are written to be safe to show.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ command: String, _ error: Error) {
        description = "popi \(command): \(error)"
    }
}
