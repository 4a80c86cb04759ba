import CKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of threads that run one job at a time with the caller as thread 0.
///
/// A forward pass dispatches ~5 jobs per layer, so hand-off must cost about a microsecond:
/// workers spin on a generation counter for a while after each job, then park on a condition
/// variable until the next one. Jobs split their work by thread index; each output element is
/// computed by exactly one thread, so results do not depend on the thread count.
final class WorkerPool: @unchecked Sendable {
    let threadCount: Int

    /// Incremented (release) to publish a job; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current job.
    private let remaining = Atomic<Int>(0)
    /// Workers parked (or about to park) on `wake`.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var job: ((Int) -> Void)?
    /// Heap-allocated so the pthread objects never move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var threads: [pthread_t] = []

    /// Spin iterations (each a `pause`, ~40-140 cycles) before a worker parks: tens of µs, enough
    /// to bridge the gaps inside a forward pass without holding a shared CPU for long.
    private static let spinLimit = 1 << 10

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
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    /// Runs `body(i)` for every thread index i in 0..<threadCount (0 on the calling thread) and
    /// returns when all have finished. Not reentrant: one job at a time.
    func run(_ body: (Int) -> Void) {
        if threadCount == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            remaining.store(threadCount - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            escapable(0)
            var spins = 0
            while remaining.load(ordering: .acquiring) != 0 {
                ck_pause()
                spins += 1
                // A worker that is not running (a busy machine) gets the CPU sooner.
                if spins & 0xFF == 0 { sched_yield() }
            }
            job = nil
        }
    }

    /// The part of `0..<count` that thread `index` owns: contiguous, balanced, in multiples of
    /// `alignment` except at the end.
    func share(of count: Int, thread index: Int, alignment: Int = 1) -> Range<Int> {
        let units = (count + alignment - 1) / alignment
        let start = units * index / threadCount * alignment
        let end = units * (index + 1) / threadCount * alignment
        return min(start, count)..<min(end, count)
    }

    private func workerLoop(index: Int) {
        // Generation 0 is the state before the first job, whenever this thread starts.
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                if spins < Self.spinLimit {
                    ck_pause()
                    spins += 1
                } else {
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(wake, mutex)
                    }
                    pthread_mutex_unlock(mutex)
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            job?(index)
            remaining.subtract(1, ordering: .releasing)
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
