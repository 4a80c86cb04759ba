import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each run side by side with a peer and reported as a ratio.",
        subcommands: [BenchStore.self])
}
