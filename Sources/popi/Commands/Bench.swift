import ArgumentParser

/// `popi bench ...`: throughput measurements (compare with a peer through the scripts in bench/).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure throughput.",
                                                    subcommands: [BenchRuntime.self, BenchTokenizer.self],
                                                    defaultSubcommand: BenchRuntime.self)
}
