import CKernels
import Synchronization
import Glibc

/// A fixed set of threads that run one job at a time with the caller as thread 0.
///
/// A job is a number of chunks; threads claim chunks from a shared counter until none are left,
/// so the threads that are actually running do the work (on a busy machine the caller may do it
/// all) and a slow thread delays a job by at most one chunk. Every output element is computed by
/// exactly one chunk in a fixed way, so results do not depend on which thread ran it.
///
/// A forward pass dispatches ~5 jobs per layer, so hand-off must cost about a microsecond:
/// workers spin on the counter for a while after each job, then park on a condition variable.
final class WorkerPool: @unchecked Sendable {
    let threadCount: Int

    /// The job's generation (high 32 bits), its chunk count (16 bits) and the next unclaimed
    /// chunk (low 16 bits), in one word: a claim is decided by one value, and a late thread can
    /// never take a chunk of a newer job.
    private let next = Atomic<UInt64>(0)
    /// Chunks of the current job finished.
    private let finished = Atomic<Int>(0)
    /// Workers parked (or about to park) on `wake`.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Wraps after 2^32 jobs, like the 32 bits of `next` that hold it.
    private var generation: UInt32 = 0
    private var job: ((_ thread: Int, _ chunk: Int) -> Void)?
    /// Heap-allocated so the pthread objects never move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var threads: [pthread_t] = []

    /// Spin iterations (each a `pause`, ~40-140 cycles) before a worker parks: tens of µs, enough
    /// to bridge the gaps inside a forward pass without holding a shared CPU for long.
    private static let spinLimit = 1 << 10

    /// Most chunks in one job (their count and index share 16-bit fields of `next`).
    static let maxChunks = 0xFFFF

    init(threads: Int) {
        precondition(threads >= 1)
        threadCount = threads
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for index in 1..<threads {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(index: context.index)
                return nil
            }, context)
            precondition(status == 0, "cannot start inference worker thread (\(status))")
            self.threads.append(thread)
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        next.add(1 << 32, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    /// Runs `body(thread, chunk)` for every chunk in 0..<chunks, spread over the threads (the
    /// calling thread is 0), and returns when all have finished. Not reentrant.
    func run(chunks: Int, _ body: (_ thread: Int, _ chunk: Int) -> Void) {
        guard chunks > 0 else { return }
        precondition(chunks <= Self.maxChunks, "at most \(Self.maxChunks) chunks per job")
        if threadCount == 1 || chunks == 1 {
            for chunk in 0..<chunks { body(0, chunk) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            generation &+= 1
            job = escapable
            finished.store(0, ordering: .relaxed)
            // Publishes the job (release) and lets spinning workers see a new generation.
            next.store(UInt64(generation) << 32 | UInt64(chunks) << 16, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            work(thread: 0, generation: generation)
            var spins = 0
            while finished.load(ordering: .acquiring) != chunks {
                ck_pause()
                spins += 1
                // A worker holding a chunk but not running (a busy machine) gets the CPU sooner.
                if spins & 0xFF == 0 { sched_yield() }
            }
            job = nil
        }
    }

    /// Claims and runs chunks of job `generation` until none are left.
    private func work(thread: Int, generation: UInt32) {
        while true {
            var claimed = next.load(ordering: .acquiring)
            while true {
                guard UInt32(claimed >> 32) == generation, claimed & 0xFFFF < (claimed >> 16) & 0xFFFF else { return }
                let (exchanged, original) = next.compareExchange(expected: claimed, desired: claimed + 1,
                                                                 ordering: .acquiringAndReleasing)
                if exchanged { break }
                claimed = original
            }
            // A chunk of this job is claimed: the job cannot end (or change) before it is done.
            job!(thread, Int(claimed & 0xFFFF))
            finished.add(1, ordering: .releasing)
        }
    }

    /// Chunk `chunk` of `chunks` equal parts of `0..<count`, in multiples of `alignment` except at
    /// the end.
    static func part(_ chunk: Int, of chunks: Int, count: Int, alignment: Int = 1) -> Range<Int> {
        let units = (count + alignment - 1) / alignment
        let start = units * chunk / chunks * alignment
        let end = units * (chunk + 1) / chunks * alignment
        return min(start, count)..<min(end, count)
    }

    /// Chunks to split `count` rows into: two per thread, none smaller than `minimum` rows. Fewer,
    /// longer slices stream the weights better and claim less often; two rather than one keeps
    /// a descheduled thread's delay to a quarter of a job on two threads. Measured on a 2-core
    /// AMD EPYC (`popi bench runtime --threads 2`, three rounds in alternation), decode after 16
    /// tokens: 359 tok/s with two per thread against 327 with four; one per thread was 2% faster
    /// than two.
    func chunks(for count: Int, minimum: Int = 16) -> Int {
        max(1, min(2 * threadCount, count / minimum))
    }

    private func workerLoop(index: Int) {
        var seen: UInt32 = 0
        while true {
            var spins = 0
            var current = UInt32(next.load(ordering: .acquiring) >> 32)
            while current == seen {
                if spins < Self.spinLimit {
                    ck_pause()
                    spins += 1
                } else {
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_lock(mutex)
                    while UInt32(next.load(ordering: .sequentiallyConsistent) >> 32) == seen {
                        pthread_cond_wait(wake, mutex)
                    }
                    pthread_mutex_unlock(mutex)
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    spins = 0
                }
                current = UInt32(next.load(ordering: .acquiring) >> 32)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            work(thread: index, generation: current)
        }
    }
}

private final class WorkerContext {
    /// The pool joins its threads in deinit, so it outlives every use from a worker.
    unowned(unsafe) let pool: WorkerPool
    let index: Int

    init(pool: WorkerPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
