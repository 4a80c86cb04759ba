import ArgumentParser
import Foundation
import InferenceRuntime
import Personalization

/// `popi eval`: POPI's comparison table on a dataset of users.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate summaries against raw signals, no personalization and an oracle on a dataset.",
        discussion: """
            For each user: infer summaries from the context pairs (best-of-N; candidate 0 is the zero-shot \
            summary) and score every condition on the held-out pairs. Writes results.md, results.json, \
            users.jsonl (resumable) and chart.svg to --out.
            """)

    @Option(help: "Dataset: one user per line (user_id, persona, traits, signals, held_out).")
    var dataset: String

    @Option(help: "Candidate summaries per user (best-of-N).")
    var candidates: Int = 8

    @Option(help: "Evaluate only the first K users.")
    var limit: Int?

    @Option(help: "Seed for sampling and the bootstrap.")
    var seed: UInt64 = 1

    @Option(help: "Output folder (resumes when it holds users.jsonl of the same dataset).")
    var out: String = "eval-out"

    @Option(help: "local, or the name of an upstream: then summaries personalize that upstream's answers (generator transfer).")
    var generator: String = "local"

    @Option(name: .customLong("upstreams-file"), help: "JSON file of OpenAI-compatible upstreams (env POPI_UPSTREAMS_FILE).")
    var upstreamsFile: String?

    @Option(name: .customLong("upstream"), help: "An upstream as name=…,base_url=…,api_key_env=…,models=… (repeatable).")
    var upstreams: [String] = []

    @Option(help: "A trained summarizer adapter (from `popi train summarizer`): adds the trained rows, written in the form it was trained for.")
    var adapter: String?

    @Option(name: .customLong("generator-adapter"), help: "A trained generator adapter (from `popi train generator`), with --adapter.")
    var generatorAdapter: String?

    @Option(help: "Also write answers under each condition for this many users' first held-out prompt (generations.md).")
    var generations = 0

    @OptionGroup var runtimeOptions: RuntimeOptions

    func validate() throws {
        guard (1...64).contains(candidates) else { throw ValidationError("--candidates must be between 1 and 64") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard (0...1000).contains(generations) else { throw ValidationError("--generations must be between 0 and 1000") }
        if generatorAdapter != nil, adapter == nil { throw ValidationError("--generator-adapter needs --adapter (the summaries it answers with)") }
    }

    func run() async throws {
        do {
            let data = try PersonaDataset.load(path: dataset)
            let runtime = try runtimeOptions.preferenceModel().sharingPromptOpenings()
            let options = SummaryOptions(candidates: candidates, seed: seed)
            if generator != "local" {
                let registry = try Service.loadUpstreams(
                    upstreamsFile: upstreamsFile ?? ProcessInfo.processInfo.environment["POPI_UPSTREAMS_FILE"], specs: upstreams)
                guard let client = registry.client(named: generator), let upstreamModel = client.configuration.models.keys.sorted().first else {
                    throw ValidationError("no upstream named \(generator) with a model (give --upstreams-file or --upstream)")
                }
                let evaluator = TransferEvaluator(judge: runtime, generator: UpstreamTextGenerator(client: client, model: upstreamModel),
                                                  options: options)
                let bar = ProgressBar(label: "users")
                let markdown = try await TransferRun.run(evaluator: evaluator, dataset: data,
                                                         datasetName: URL(fileURLWithPath: dataset).lastPathComponent, limit: limit,
                                                         output: URL(fileURLWithPath: out, isDirectory: true),
                                                         progress: { bar.update(done: $0, total: $1) })
                bar.finish()
                print(markdown)
                return
            }
            let config = runtime.engine.modelConfig
            var digests: [String: String] = [:]
            func load(_ path: String, role: String) throws -> RuntimeModel {
                let loaded = try AdapterArgument.load(path, what: "adapter", base: config)
                digests[role] = loaded.sha256
                return runtime.with(adapter: loaded.adapter)
            }
            let summarizer = try adapter.map { try load($0, role: "summarizer") }
            let generatorModel = try generatorAdapter.map { try load($0, role: "generator") }
            let evaluator = Evaluator(model: runtime, options: options, summarizer: summarizer, generator: generatorModel,
                                      trainedForm: try SummaryForm(adapter: summarizer?.adapter))
            let run = EvaluationRun(evaluator: evaluator, dataset: data,
                                    datasetName: URL(fileURLWithPath: dataset).lastPathComponent,
                                    outputDirectory: URL(fileURLWithPath: out, isDirectory: true), adapters: digests)
            let bar = ProgressBar(label: "users")
            let report = try await run.run(limit: limit) { done, total in bar.update(done: done, total: total) }
            bar.finish()
            print(report.markdown())
            print("wrote \(out)/results.md, results.json, users.jsonl, chart.svg")
            if generations > 0 {
                let samples = try await GenerationSamples(model: runtime, generator: generatorModel)
                    .make(dataset: data, evaluations: try run.completed(), count: generations)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let folder = URL(fileURLWithPath: out, isDirectory: true)
                try encoder.encode(samples).write(to: folder.appendingPathComponent("generations.json"), options: .atomic)
                try Data(GenerationSamples.markdown(samples).utf8).write(to: folder.appendingPathComponent("generations.md"), options: .atomic)
                print("wrote \(out)/generations.md, generations.json")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandFailure("eval", error)
        }
    }
}
