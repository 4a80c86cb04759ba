public import ArgumentParser

/// The `popi` command line; the executable's `main` runs it.
public struct PopiCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "popi",
        abstract: "HTTP personalization microservice (POPI: preference summaries optimized by inference).",
        version: PopiVersion.current,
        subcommands: [Serve.self, Migrate.self, Keys.self, Summarize.self, Eval.self, ModelCommand.self, Tokenize.self, Bench.self, Generate.self, Score.self, Train.self, Version.self]
    )

    public init() {}
}
