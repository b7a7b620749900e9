import Synchronization

/// The defenses specs can name.
public enum Defenses {
    /// The built-in defenses, one line each, in the order `--help` lists them.
    static let builtIn: [any Defense.Type] = [
        GateDefense.self,
        FilterDefense.self,
        DPSGDDefense.self,
        StepCapDefense.self,
        NormCapDefense.self,
        DilutionDefense.self,
        SpectralDefense.self,
        ClusteringDefense.self,
    ]

    private static let registered = Mutex<[any Defense.Type]>([])

    /// Adds a defense defined outside this module (a plug-in, a test); a name already taken
    /// is left as it is.
    public static func register(_ type: any Defense.Type) {
        registered.withLock { list in
            if !(builtIn + list).contains(where: { $0.name == type.name }) { list.append(type) }
        }
    }

    /// Every defense a spec can name: the built-in ones, then the registered ones.
    public static var all: [any Defense.Type] { builtIn + registered.withLock { $0 } }
}
