import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct CPUTimeTmp {
    func cpu() -> Double { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
    func wall() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    @Test func phases() throws {
        let model = LlamaModel(config: LlamaModelTests.config, weights: LlamaModelTests.weights, kernels: .detected, pool: WorkerPool(threads: 1), maxBatch: 512)
        let cache = KVCache(config: LlamaModelTests.config)
        func prefill(_ n: Int) throws -> (Double, Double, KVCache.SequenceID) {
            let s = cache.create(); var b = TokenBatch()
            for i in 0..<n { b.append(RuntimeBenchmark.promptToken(i), position: i, sequence: s, logits: i == n - 1) }
            let c0 = cpu(), w0 = wall(); try model.forward(b, cache: cache) { _, _ in }
            return (cpu() - c0, wall() - w0, s)
        }
        for n in [256] {
            var best = Double.infinity, bestWall = Double.infinity
            for _ in 0..<3 { let (c, w, s) = try prefill(n); best = min(best, c); bestWall = min(bestWall, w); cache.remove(s) }
            print("PHASE prefill \(n): cpu \(best * 1000) ms = \(Double(n) / best) tok/s cpu-time (wall \(Double(n) / bestWall))")
        }
        for ctx in [16, 1024] {
            var bestTok = Double.infinity
            for _ in 0..<2 {
                var s = cache.create(); var b = TokenBatch()
                if ctx <= 512 { (_, _, s) = try prefill(ctx) } else {
                    for start in stride(from: 0, to: ctx, by: 512) { b.removeAll(); for i in start..<start+512 { b.append(1000, position: i, sequence: s, logits: false) }; try model.forward(b, cache: cache) { _, _ in } }
                }
                let c0 = cpu()
                for step in 0..<64 { b.removeAll(); b.append(1000, position: ctx + step, sequence: s, logits: true); try model.forward(b, cache: cache) { _, _ in } }
                bestTok = min(bestTok, (cpu() - c0) / 64)
                cache.remove(s)
            }
            print("PHASE decode@\(ctx): cpu \(bestTok * 1000) ms/token = \(1 / bestTok) tok/s cpu-time")
        }
        let root = try prefill(16).2; let seqs = [root] + (1..<8).map { _ in cache.fork(root) }
        var b = TokenBatch(); let c0 = cpu()
        for step in 0..<32 { b.removeAll(); for s in seqs { b.append(1000, position: 16 + step, sequence: s, logits: true) }; try model.forward(b, cache: cache) { _, _ in } }
        let per = (cpu() - c0) / 32
        print("PHASE batch8: cpu \(per * 1000) ms/step = \(8 / per) tok/s cpu-time")
    }
}
