import App
import ArgumentParser

@main
struct Popi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "popi",
        abstract: "HTTP personalization microservice (POPI: preference summaries optimized by inference).",
        version: PopiVersion.current,
        subcommands: [Serve.self, Version.self, ModelCommand.self, Tokenize.self, Bench.self, Generate.self, Score.self]
    )
}
