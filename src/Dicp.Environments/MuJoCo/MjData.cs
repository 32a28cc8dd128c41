namespace Dicp.Environments.MuJoCo;

/// <summary>The simulation state of one <see cref="MjModel"/> (<c>mjData</c>).</summary>
/// <remarks>
/// Arrays are spans over native memory valid while the data is alive. Stepping runs under the shim's error guard:
/// a MuJoCo error becomes a <see cref="MuJoCoException"/> and the data is reset (its state is undefined after an error).
/// Not thread-safe: one thread per data.
/// </remarks>
public sealed unsafe class MjData : IDisposable
{
    private nint _handle;

    /// <summary>Allocates the data of <paramref name="model"/> (in the model's initial state).</summary>
    /// <exception cref="MuJoCoException">MuJoCo could not allocate the data.</exception>
    public MjData(MjModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        MuJoCoRuntime.Check(NativeMethods.MakeData(model.Handle, out _handle), "mj_makeData");
    }

    /// <summary>The model this data simulates.</summary>
    public MjModel Model { get; }

    internal nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(MjData));

    /// <summary>Generalised positions, <c>(nq)</c>.</summary>
    public Span<double> QPos => new(NativeMethods.QPos(Handle), Model.Nq);

    /// <summary>Generalised velocities, <c>(nv)</c>.</summary>
    public Span<double> QVel => new(NativeMethods.QVel(Handle), Model.Nv);

    /// <summary>Actuator controls, <c>(nu)</c>.</summary>
    public Span<double> Ctrl => new(NativeMethods.Ctrl(Handle), Model.Nu);

    /// <summary>Mocap body positions, <c>(nmocap, 3)</c>.</summary>
    public Span<double> MocapPos => new(NativeMethods.MocapPos(Handle), Model.NMocap * 3);

    /// <summary>Mocap body orientations (w, x, y, z), <c>(nmocap, 4)</c>.</summary>
    public Span<double> MocapQuat => new(NativeMethods.MocapQuat(Handle), Model.NMocap * 4);

    /// <summary>Body frame positions in world coordinates, <c>(nbody, 3)</c> (computed by forward kinematics).</summary>
    public ReadOnlySpan<double> XPos => new(NativeMethods.XPos(Handle), Model.NBody * 3);

    /// <summary>Body frame orientations (w, x, y, z), <c>(nbody, 4)</c>.</summary>
    public ReadOnlySpan<double> XQuat => new(NativeMethods.XQuat(Handle), Model.NBody * 4);

    /// <summary>Geom positions in world coordinates, <c>(ngeom, 3)</c>.</summary>
    public ReadOnlySpan<double> GeomXPos => new(NativeMethods.GeomXPos(Handle), Model.NGeom * 3);

    /// <summary>Geom orientations as row-major 3×3 matrices, <c>(ngeom, 9)</c>.</summary>
    public ReadOnlySpan<double> GeomXMat => new(NativeMethods.GeomXMat(Handle), Model.NGeom * 9);

    /// <summary>Site positions in world coordinates, <c>(nsite, 3)</c>.</summary>
    public ReadOnlySpan<double> SiteXPos => new(NativeMethods.SiteXPos(Handle), Model.NSite * 3);

    /// <summary>Site orientations as row-major 3×3 matrices, <c>(nsite, 9)</c>.</summary>
    public ReadOnlySpan<double> SiteXMat => new(NativeMethods.SiteXMat(Handle), Model.NSite * 9);

    /// <summary>Simulation time in seconds.</summary>
    public double Time => NativeMethods.Time(Handle);

    /// <summary>The number of MuJoCo warnings (bad qacc, bad ctrl, …) recorded since the last reset: non-zero means the simulation went unstable.</summary>
    public int WarningCount => NativeMethods.DataWarnings(Handle);

    /// <summary>Advances the simulation by <paramref name="steps"/> calls of <c>mj_step</c>.</summary>
    /// <exception cref="MuJoCoException">MuJoCo raised an error (the data is reset).</exception>
    public void Step(int steps = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        Guard(NativeMethods.Step(Model.Handle, Handle, steps), "mj_step");
    }

    /// <summary>Recomputes every derived quantity (kinematics, contacts…) from the state (<c>mj_forward</c>).</summary>
    /// <exception cref="MuJoCoException">MuJoCo raised an error (the data is reset).</exception>
    public void Forward() => Guard(NativeMethods.Forward(Model.Handle, Handle), "mj_forward");

    /// <summary>Resets the state to the model's defaults (<c>mj_resetData</c>).</summary>
    public void Reset() => MuJoCoRuntime.Check(NativeMethods.ResetData(Model.Handle, Handle), "mj_resetData");

    private void Guard(int rc, string what)
    {
        if (rc == 0) return;
        var message = NativeMethods.Message(NativeMethods.LastError());
        NativeMethods.ResetData(Model.Handle, Handle);
        throw new MuJoCoException($"MuJoCo error in {what} ('{Model.Path}'): {message}");
    }

    /// <summary>Frees the native data.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native data if it was not disposed.</summary>
    ~MjData() => Free();

    private void Free()
    {
        var h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) NativeMethods.FreeData(h);
    }
}
