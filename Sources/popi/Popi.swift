import App
import ArgumentParser

@main
struct Popi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "popi",
        abstract: "HTTP personalization microservice (POPI: preference summaries optimized by inference).",
        version: PopiVersion.current,
        subcommands: [Serve.self, Migrate.self, Keys.self, Eval.self, ModelCommand.self, Tokenize.self, Bench.self, Generate.self, Score.self, Version.self]
    )
}
