import Testing
@testable import Personalization

@Suite struct BootstrapTests {
    @Test func intervalOnFixedDataIsDeterministicAndBracketsTheMean() {
        let values: [Double] = [0, 0.25, 0.5, 0.5, 0.75, 1, 1, 0.25, 0.5, 0.75]
        let bootstrap = Bootstrap(resamples: 4000, seed: 42)
        let a = bootstrap.meanInterval(values), b = bootstrap.meanInterval(values)
        #expect(a == b)
        #expect(a.mean == 0.55)
        #expect(a.low < a.mean && a.mean < a.high)
        // Normal approximation: sd 0.316 / sqrt(10) = 0.1 → about ±0.196.
        #expect(abs((a.high - a.low) - 0.39) < 0.08)
    }

    @Test func degenerateInputs() {
        let bootstrap = Bootstrap()
        #expect(bootstrap.meanInterval([]) == (0, 0, 0))
        #expect(bootstrap.meanInterval([0.3]) == (0.3, 0.3, 0.3))
        #expect(bootstrap.meanInterval([1, 1, 1]) == (1, 1, 1))
    }

    @Test func percentileInterpolates() {
        #expect(Bootstrap.percentile([0, 10], 0.25) == 2.5)
        #expect(Bootstrap.percentile([1, 2, 3, 4, 5], 0.5) == 3)
    }
}
