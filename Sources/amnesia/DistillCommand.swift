import ArgumentParser
import Distillation
import Foundation
import Pipeline
import Poisoning
import Reports
import Results

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Distill a dataset into a few images and step sizes that train a network (Dataset Distillation).",
        discussion: """
            The spec is an attack spec with objective: standard (forget and target are then not \
            needed): it learns images_per_class × classes images for each of `steps` gradient \
            steps, taken `epochs` times, with one learned step size per step and epoch \
            (θ ← θ − η ∇ℓ(x̃; θ)), so that the network they train scores well on real data.

            The zoo and the knowledge choose the paper's setting of the initial weights \
            (one shipped spec each in distill/):
              fixed init         knowledge: fixed; zoo of untrained nets (epochs: 0)
              random init        knowledge: distribution; the same kind of zoo
              fixed pretrained   knowledge: fixed; zoo trained on one task
              random pretrained  knowledge: distribution; the same pretrained zoo
            Random settings distill on the crafting networks and are scored on the \
            held-out ones (disjoint seeds). victims/fashion-lenet-init.yaml is a zoo of \
            untrained initializations; victims/fashion-lenet-pretrained-half.yaml one \
            pretrained on five classes (train_classes) that the distilled data adapts \
            to all ten.

            The report (reports/<name>-<hash>/report.{json,md,html}, poison.png, poison.safetensors) \
            gives test accuracy after the distilled steps (mean ± std over the held-out networks, \
            or on the fixed one) beside the real-image baselines with as many images taken for as \
            many steps (random real images, k-means centroids, class means), each with its step \
            size chosen on crafting networks only; seconds per iteration and peak memory too. \
            Ctrl-C writes a checkpoint; --resume continues from it, and on a run that finished \
            evaluates its distilled set again without distilling.

            With evaluation: published in the spec, the distilled set and the same three \
            baselines are then also scored as the DC/DSA/DM papers score theirs: fresh ConvNet-3 \
            networks (published_evaluation: networks, epochs, dsa, width, depth, controls) trained \
            to convergence on each set with SGD, mean ± std of their test accuracy. Changing only \
            the evaluation keeps the run folder (its hash covers what crafting reads). \
            published_evaluation.curve: [100, 300] keeps the set at those iterations \
            (snapshots/) and scores each the same way: the learning curve; extrapolate_to: N \
            carries it to N iterations on a line in ln(iteration), printed as extrapolated.
            Examples:
              amnesia distill distill/fashion-fixed-init.yaml
              amnesia distill distill/fashion-random-init.yaml --iterations 200 --resume
            """)
    @Argument(help: ArgumentHelp("A distillation spec (YAML, objective: standard), e.g. distill/fashion-fixed-init.yaml.", discussion: specArgumentHelp)) var spec: String
    @OptionGroup var options: CraftOptions

    func run() throws {
        let start = Date()
        let prepared = try prepareRun(specPath: spec, options: options, objective: .standard)
        let zooSeconds = Date().timeIntervalSince(start)
        let distillation = try DistillRun(prepared)
        let s = prepared.spec
        let images = s.imagesPerClass * prepared.data.info.numClasses * s.steps
        let announce = "distilling \(distillation.run.name) (\(distillation.setting.rawValue)): \(images) images, \(s.steps) step(s) × \(s.epochs) epoch(s), \(s.iterations) iterations"
        let craftStart = Date()
        let locks = try prepared.lock()
        let distilled: PoisonSet, seconds: Double
        if options.resume, let earlier = try distillation.finishedPoison() {
            Console.shared.say("\(distillation.run.name) finished distilling earlier: evaluating its poison.safetensors again")
            (distilled, seconds) = (earlier, 0)
        } else {
            guard let crafted = try craftWithProgress(prepared, options: options, locks: locks, announce: announce) else { return }
            (distilled, seconds) = crafted
        }
        let peak = peakResidentMegabytes()
        let perIteration = options.resume ? nil : Date().timeIntervalSince(craftStart) / Double(s.iterations)
        var report = try distillation.evaluate(distilled, workers: options.workers,
                                               timings: ["zoo": zooSeconds, "craft": seconds], locks: locks) { Console.shared.say($0) }
        (report.secondsPerIteration, report.peakMemoryMiB) = (perIteration, peak)
        if s.evaluation == .published {
            report.publishedEvaluation = try distillation.publishedEvaluation(distilled, workers: options.workers) { Console.shared.say($0) }
        }
        try distillation.write(report, locks: locks)
        let set = report.headlineSet.summary
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        print("\(report.setting): test accuracy \(pct(set.before.accuracy.mean)) → \(pct(set.after.accuracy.mean)) ± \(pct(set.after.accuracy.std)) (min \(pct(set.after.accuracy.min))) on \(report.headline == "known" ? "the fixed network" : "\(report.headlineSet.victims.count) held-out networks")")
        if report.headline == "known" {
            print("  held-out networks (other initializations): \(pct(report.results.heldout.summary.after.accuracy.mean)) ± \(pct(report.results.heldout.summary.after.accuracy.std))")
        }
        for (name, baseline) in report.baselines.sorted(by: { $0.key < $1.key }) {
            print("  baseline \(name) (step size \(baseline.stepSize)): \(pct(baseline.summary.after.accuracy.mean)) ± \(pct(baseline.summary.after.accuracy.std))")
        }
        if let published = report.publishedEvaluation {
            func row(_ name: String, _ stat: Stat) { print("    \(name): \(pct(stat.mean)) ± \(pct(stat.std)) over \(stat.count) network(s)") }
            print("  published protocol (\(published.recipe); seeds \(published.seeds.map(String.init).joined(separator: ", ")), \(formatDuration(published.seconds))):")
            row("distilled", published.distilledSummary)
            for (key, stat) in published.controlSummaries.sorted(by: { $0.key < $1.key }) { row("control \(key)", stat) }
            for point in published.curve.dropLast() { row("the set at iteration \(point.iteration)", point.summary) }
            if let line = published.extrapolation {
                print("    EXTRAPOLATED, not measured: \(pct(line.accuracy)) at \(line.iterations) iterations (least-squares line on ln(iteration) through iterations \(line.fittedTo.map(String.init).joined(separator: ", ")))")
            }
        }
        print("  distilling: \(formatDuration(seconds))\(perIteration.map { String(format: ", %.0f ms per iteration", $0 * 1000) } ?? ""), peak memory \(String(format: "%.0f", peak)) MiB")
        print("finished in \(formatDuration(Date().timeIntervalSince(start))); report: \(distillation.directory.appendingPathComponent(ReportWriter.htmlName).path)")
    }
}

struct LinearCaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear-case",
        abstract: "Dataset Distillation's linear case (§3.3): one step on M distilled points reaches the optimum only if M ≥ D.",
        discussion: """
            Least squares with D features on N random points, ℓ(θ) = ‖dθ − t‖²/2N. One gradient \
            step on M distilled points maps θ₀ to (I − (η/M) d̃ᵀd̃) θ₀ + (η/M) d̃ᵀt̃; it lands on the \
            optimum θ* from every θ₀ only if (η/M) d̃ᵀd̃ = I, which needs rank D, so M ≥ D. For \
            each M from 1 to D + 1 this learns M points and a step size by unrolling the step over \
            random initializations θ₀ ~ N(0, I), then prints the mean loss one step reaches from \
            fresh initializations beside the optimum; the last row is the closed form \
            d̃ = I, t̃ = θ*, η = D (this loss's normalization of the paper's d̃ = N·I, t̃ = N·θ*).
            Example: amnesia linear-case --features 4
            """)
    @Option(help: "D, the number of features.") var features = 4
    @Option(help: "N, the number of real points.") var points = 200
    @Option(help: "Outer iterations for each learned M.") var iterations = 1500
    @Option(help: "Seed of the data, the learning and the fresh initializations.") var seed: UInt64 = 0

    func validate() throws {
        guard (1...64).contains(features), points >= features, (1...1_000_000).contains(iterations) else {
            throw ValidationError("--features must be 1…64, --points at least --features, --iterations 1…1,000,000")
        }
    }

    func run() throws {
        let problem = LinearCase(features: features, points: points, seed: seed)
        let optimum = problem.loss(problem.optimum)
        print("least squares, D = \(features) features, N = \(points) points; optimum loss \(String(format: "%.5f", optimum))")
        print("M     step size   loss before   loss after one step   excess over optimum")
        func row(_ label: String, _ distilled: LinearCase.Distilled) {
            let (before, after) = problem.reached(distilled, initializations: 1000, seed: seed &+ 99)
            print(label.padding(toLength: 6, withPad: " ", startingAt: 0)
                  + String(format: "%-12.4f%-14.4f%-22.5f%.5f", distilled.stepSize, before, after, after - optimum))
        }
        for m in 1...(features + 1) {
            row("\(m)", problem.learn(points: m, iterations: iterations, seed: seed &+ UInt64(m)))
        }
        row("\(features)*", problem.closedForm())
        print("* closed form: d̃ = I, t̃ = θ*, η = D. Rows with M < D keep an excess: the null space of d̃ is never stepped in.")
    }
}
