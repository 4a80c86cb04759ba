import ArgumentParser

/// `popi bench ...`: measurements, each compared with a peer through the scripts in bench/.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each run side by side with a peer and reported as a ratio.",
        subcommands: [BenchRuntime.self, BenchTrain.self, BenchTokenizer.self, BenchStore.self],
        defaultSubcommand: BenchRuntime.self)
}
