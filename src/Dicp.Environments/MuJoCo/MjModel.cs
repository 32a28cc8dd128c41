namespace Dicp.Environments.MuJoCo;

/// <summary>A compiled MuJoCo model (<c>mjModel</c>), owned by one environment.</summary>
/// <remarks>
/// Model arrays are exposed as spans over native memory, valid while the model is alive; writes change the model
/// (Meta-World moves goal sites and object bodies per task, so every environment loads its own model). Loading is
/// serialised by a process-wide lock (MuJoCo's XML compiler swaps global error handlers while it runs).
/// </remarks>
public sealed unsafe class MjModel : IDisposable
{
    private static readonly Lock LoadGate = new();
    private nint _handle;

    private MjModel(nint handle, string path)
    {
        _handle = handle;
        Path = path;
        Nq = NativeMethods.Nq(handle);
        Nv = NativeMethods.Nv(handle);
        Nu = NativeMethods.Nu(handle);
        NBody = NativeMethods.NBody(handle);
        NGeom = NativeMethods.NGeom(handle);
        NSite = NativeMethods.NSite(handle);
        NMocap = NativeMethods.NMocap(handle);
        NEq = NativeMethods.NEq(handle);
        NJnt = NativeMethods.NJnt(handle);
        Timestep = NativeMethods.Timestep(handle);
    }

    /// <summary>Loads and compiles an MJCF file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="MuJoCoException">MuJoCo rejected the file (its message names the problem), or MuJoCo is unavailable.</exception>
    public static MjModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"MuJoCo model file '{full}' does not exist.", full);
        MuJoCoRuntime.EnsureInitialized();
        nint handle;
        int rc;
        lock (LoadGate) rc = NativeMethods.LoadXml(full, out handle);
        if (rc != 0 || handle == 0)
            throw new MuJoCoException($"MuJoCo could not load '{full}': {NativeMethods.Message(NativeMethods.LastError())}");
        return new MjModel(handle, full);
    }

    /// <summary>
    /// A private copy of the model compiled from <paramref name="path"/>: the file is compiled once per process (and
    /// per full path) and every call returns a deep copy (<c>mj_copyModel</c>), so callers may write model fields
    /// freely. Edits of the file after the first load are not seen.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="MuJoCoException">MuJoCo rejected the file, or MuJoCo is unavailable.</exception>
    public static MjModel LoadShared(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        MjModel template;
        lock (Templates)
        {
            if (!Templates.TryGetValue(full, out template!))
            {
                template = Load(full);
                Templates[full] = template;
            }
        }
        MuJoCoRuntime.Check(NativeMethods.CopyModel(template.Handle, out var copy), "mj_copyModel");
        return new MjModel(copy, full);
    }

    private static readonly Dictionary<string, MjModel> Templates = [];

    /// <summary>The file the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>Number of generalised coordinates.</summary>
    public int Nq { get; }

    /// <summary>Number of degrees of freedom.</summary>
    public int Nv { get; }

    /// <summary>Number of actuators.</summary>
    public int Nu { get; }

    /// <summary>Number of bodies (including the world body).</summary>
    public int NBody { get; }

    /// <summary>Number of geoms.</summary>
    public int NGeom { get; }

    /// <summary>Number of sites.</summary>
    public int NSite { get; }

    /// <summary>Number of mocap bodies.</summary>
    public int NMocap { get; }

    /// <summary>Number of equality constraints.</summary>
    public int NEq { get; }

    /// <summary>Number of joints.</summary>
    public int NJnt { get; }

    /// <summary>The simulation time step (<c>opt.timestep</c>, seconds).</summary>
    public double Timestep { get; }

    internal nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(MjModel));

    /// <summary>Body positions relative to the parent, <c>(nbody, 3)</c> row-major (writable).</summary>
    public Span<double> BodyPos => new(NativeMethods.BodyPos(Handle), NBody * 3);

    /// <summary>Site positions relative to their body, <c>(nsite, 3)</c> row-major (writable).</summary>
    public Span<double> SitePos => new(NativeMethods.SitePos(Handle), NSite * 3);

    /// <summary>Equality-constraint data, <c>(neq, EqDataSize)</c> row-major (writable).</summary>
    public Span<double> EqData => new(NativeMethods.EqData(Handle), NEq * EqDataSize);

    /// <summary>Equality-constraint types, <c>(neq)</c>.</summary>
    public ReadOnlySpan<int> EqType => new(NativeMethods.EqType(Handle), NEq);

    /// <summary>The number of data values per equality constraint (<c>mjNEQDATA</c>).</summary>
    public static int EqDataSize => NativeMethods.NEqData();

    /// <summary>The <c>mjEQ_WELD</c> constraint type.</summary>
    public static int EqWeld => NativeMethods.EqWeld();

    /// <summary>The mocap index of each body (−1 for non-mocap bodies), <c>(nbody)</c>.</summary>
    public ReadOnlySpan<int> BodyMocapId => new(NativeMethods.BodyMocapId(Handle), NBody);

    /// <summary>The first qpos address of each joint, <c>(njnt)</c>.</summary>
    public ReadOnlySpan<int> JointQposAddress => new(NativeMethods.JntQposAdr(Handle), NJnt);

    /// <summary>The first degree-of-freedom (qvel) address of each joint, <c>(njnt)</c>.</summary>
    public ReadOnlySpan<int> JointDofAddress => new(NativeMethods.JntDofAdr(Handle), NJnt);

    /// <summary>The id of the body named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such body.</exception>
    public int BodyId(string name) => Id(NativeMethods.ObjBody(), name, "body");

    /// <summary>The id of the geom named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such geom.</exception>
    public int GeomId(string name) => Id(NativeMethods.ObjGeom(), name, "geom");

    /// <summary>The id of the site named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such site.</exception>
    public int SiteId(string name) => Id(NativeMethods.ObjSite(), name, "site");

    /// <summary>The id of the joint named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such joint.</exception>
    public int JointId(string name) => Id(NativeMethods.ObjJoint(), name, "joint");

    private int Id(int type, string name, string kind)
    {
        ArgumentNullException.ThrowIfNull(name);
        var id = NativeMethods.Name2Id(Handle, type, name);
        return id >= 0 ? id : throw new KeyNotFoundException($"The MuJoCo model '{Path}' has no {kind} named '{name}'.");
    }

    /// <summary>Frees the native model.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native model if it was not disposed.</summary>
    ~MjModel() => Free();

    private void Free()
    {
        var h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) NativeMethods.FreeModel(h);
    }
}
