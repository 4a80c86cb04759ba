import App
import ArgumentParser
import Foundation
import Logging

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys (uses DATABASE_URL or the embedded database in --data-dir).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Common: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Data folder holding the embedded database (env POPI_DATA_DIR).")
        var dataDirectory: String = ProcessInfo.processInfo.environment["POPI_DATA_DIR"] ?? "data"

        @Option(help: "Tenant name.")
        var tenant: String

        func settings() throws -> DatabaseSettings {
            try DatabaseSettings.fromEnvironment(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true))
        }
    }

    static func quietLogger() -> Logger {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "popi")
        logger.logLevel = .warning
        return logger
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key (and the tenant if new); prints the key once.")

        @OptionGroup var common: Common

        @Option(help: "Comma-separated scopes: read, write, generate, admin.")
        var scopes: String = "read,write,generate"

        @Option(help: "A label for the key.")
        var name: String = ""

        func run() throws {
            do {
                let key = try KeyAdministration.create(try common.settings(), tenant: common.tenant, scopes: scopes,
                                                       name: name, logger: Keys.quietLogger())
                print(key.secret)
                FileHandle.standardError.write(Data("key \(key.keyID) for tenant \(key.tenantName) with scopes \(key.scopes.joined(separator: ",")); store it now, it is not shown again\n".utf8))
            } catch {
                throw CommandFailure("keys create", error)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's keys (never their secrets).")

        @OptionGroup var common: Common

        func run() throws {
            do {
                for line in try KeyAdministration.list(try common.settings(), tenant: common.tenant, logger: Keys.quietLogger()) {
                    print(line)
                }
            } catch {
                throw CommandFailure("keys list", error)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")

        @OptionGroup var common: Common

        @Option(help: "The key id (from keys list).")
        var id: String

        func run() throws {
            do {
                try KeyAdministration.revoke(try common.settings(), tenant: common.tenant, keyID: id, logger: Keys.quietLogger())
                print("revoked \(id)")
            } catch {
                throw CommandFailure("keys revoke", error)
            }
        }
    }
}
