using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Dicp.Environments.MuJoCo;

/// <summary>
/// Finds or builds the native shim (<c>Native/dicp_mujoco.c</c>), loads it, installs MuJoCo's error handlers and checks
/// the MuJoCo version. Every MuJoCo entry point of Dicp calls <see cref="EnsureInitialized"/> first.
/// </summary>
/// <remarks>
/// <para>The shim's C source is embedded in the assembly. On first use it is compiled with the machine's C compiler
/// (<c>$CC</c>, else <c>gcc</c>, else <c>cc</c>): <c>cc -shared -fPIC -O2 dicp_mujoco.c -lmujoco</c> into
/// <c>native/libdicp_mujoco-&lt;hash&gt;.so</c> next to the application (or the temp folder when that is read-only),
/// where the hash is that of the source, so a changed source is rebuilt and concurrent processes share one file
/// (written to a temporary name and renamed). Setting <c>DICP_MUJOCO_SHIM</c> to a prebuilt shim skips the build.
/// Requires Linux with Debian's <c>libmujoco2.2.2</c> and <c>libmujoco-dev</c> (headers) and a C compiler.</para>
/// <para>The version check requires <c>mj_version() == 222</c> (MuJoCo 2.2.2, the version the shim and the Meta-World
/// assets were validated with) and the same header version in the compiled shim.</para>
/// </remarks>
public static class MuJoCoRuntime
{
    /// <summary>The MuJoCo version this binding supports (<c>mj_version()</c> of MuJoCo 2.2.2).</summary>
    public const int SupportedVersion = 222;

    /// <summary>The environment variable naming a prebuilt shim library to load instead of building one.</summary>
    public const string ShimPathVariable = "DICP_MUJOCO_SHIM";

    private static readonly Lock Gate = new();
    private static string? _shimPath;
    private static int _version;
    private static Exception? _failure;

    /// <summary>The loaded MuJoCo's <c>mj_version()</c> (initialises the runtime).</summary>
    public static int Version
    {
        get
        {
            EnsureInitialized();
            return _version;
        }
    }

    /// <summary>The path of the loaded shim library (initialises the runtime).</summary>
    public static string ShimPath
    {
        get
        {
            EnsureInitialized();
            return _shimPath!;
        }
    }

    /// <summary>Whether MuJoCo can be used on this machine (initialises the runtime; never throws).</summary>
    public static bool IsAvailable
    {
        get
        {
            try
            {
                EnsureInitialized();
                return true;
            }
            catch (MuJoCoException)
            {
                return false;
            }
        }
    }

    /// <summary>Builds/loads the shim and checks the MuJoCo version once per process.</summary>
    /// <exception cref="MuJoCoException">Not Linux, no compiler, MuJoCo missing, or a version other than 2.2.2.</exception>
    public static void EnsureInitialized()
    {
        if (_version != 0) return;
        lock (Gate)
        {
            if (_version != 0) return;
            if (_failure is not null) throw new MuJoCoException(_failure.Message, _failure);
            try
            {
                if (!OperatingSystem.IsLinux())
                    throw new MuJoCoException("The MuJoCo binding supports Linux only (Debian's libmujoco2.2.2).");
                var path = Environment.GetEnvironmentVariable(ShimPathVariable);
                if (string.IsNullOrEmpty(path)) path = BuildShim();
                else if (!File.Exists(path))
                    throw new MuJoCoException($"{ShimPathVariable} names '{path}', which does not exist.");
                _shimPath = path;
                NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
                int version, header;
                try
                {
                    version = NativeMethods.Init();
                    header = NativeMethods.HeaderVersion();
                }
                catch (DllNotFoundException e)
                {
                    throw new MuJoCoException($"Could not load the MuJoCo shim '{path}' (is libmujoco2.2.2 installed?): {e.Message}", e);
                }
                if (version != SupportedVersion || header != SupportedVersion)
                    throw new MuJoCoException(
                        $"MuJoCo version mismatch: the library reports {version}, the shim was compiled against headers {header}; Dicp supports {SupportedVersion} (MuJoCo 2.2.2, Debian libmujoco2.2.2).");
                _version = version;
            }
            catch (Exception e)
            {
                _failure = e;
                throw e as MuJoCoException ?? new MuJoCoException(e.Message, e);
            }
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        => name == NativeMethods.Lib && _shimPath is not null ? NativeLibrary.Load(_shimPath) : 0;

    /// <summary>The embedded C source of the shim.</summary>
    internal static string ShimSource()
    {
        using var stream = typeof(MuJoCoRuntime).Assembly.GetManifestResourceStream("Dicp.Environments.Native.dicp_mujoco.c")
            ?? throw new MuJoCoException("The shim source 'dicp_mujoco.c' is not embedded in Dicp.Environments.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string BuildShim()
    {
        var source = ShimSource();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..16];
        var fileName = $"libdicp_mujoco-{hash}.so";
        string[] dirs = [Path.Combine(AppContext.BaseDirectory, "native"), Path.Combine(Path.GetTempPath(), "dicp-mujoco")];
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, fileName);
            if (File.Exists(candidate)) return candidate;
        }
        var errors = new StringBuilder();
        foreach (var dir in dirs)
        {
            try
            {
                Directory.CreateDirectory(dir);
                var target = Path.Combine(dir, fileName);
                var unique = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
                var src = Path.Combine(dir, $"dicp_mujoco-{unique}.c");
                var tmp = Path.Combine(dir, $"libdicp_mujoco-{unique}.so.tmp");
                File.WriteAllText(src, source);
                try
                {
                    Compile(src, tmp);
                    if (!File.Exists(target)) File.Move(tmp, target, overwrite: true);
                }
                finally
                {
                    File.Delete(src);
                    if (File.Exists(tmp)) File.Delete(tmp);
                }
                return target;
            }
            catch (UnauthorizedAccessException e)
            {
                errors.AppendLine($"{dir}: {e.Message}");
            }
            catch (IOException e)
            {
                errors.AppendLine($"{dir}: {e.Message}");
            }
        }
        throw new MuJoCoException($"Could not write the MuJoCo shim anywhere:{Environment.NewLine}{errors}");
    }

    private static void Compile(string source, string output)
    {
        var compilers = new List<string>();
        var cc = Environment.GetEnvironmentVariable("CC");
        if (!string.IsNullOrWhiteSpace(cc)) compilers.Add(cc);
        compilers.Add("gcc");
        compilers.Add("cc");
        var log = new StringBuilder();
        foreach (var compiler in compilers)
        {
            var psi = new ProcessStartInfo(compiler)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "-shared", "-fPIC", "-O2", "-o", output, source, "-lmujoco" }) psi.ArgumentList.Add(arg);
            Process? process;
            try
            {
                process = Process.Start(psi);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                log.AppendLine($"{compiler}: {e.Message}");
                continue;
            }
            if (process is null) continue;
            using (process)
            {
                var stderr = process.StandardError.ReadToEndAsync();
                var stdout = process.StandardOutput.ReadToEndAsync();
                if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
                {
                    process.Kill(entireProcessTree: true);
                    throw new MuJoCoException($"Compiling the MuJoCo shim with {compiler} timed out.");
                }
                if (process.ExitCode == 0) return;
                throw new MuJoCoException(
                    $"Compiling the MuJoCo shim with {compiler} failed (exit {process.ExitCode}); install Debian's libmujoco2.2.2 and libmujoco-dev:{Environment.NewLine}{stderr.Result}{stdout.Result}");
            }
        }
        throw new MuJoCoException($"No C compiler found to build the MuJoCo shim (set CC or install gcc):{Environment.NewLine}{log}");
    }

    /// <summary>Raises a MuJoCo error (<c>mju_error</c>) inside the shim's guard; it surfaces as a <see cref="MuJoCoException"/>.</summary>
    /// <remarks>Proves that MuJoCo errors are trapped instead of terminating the process.</remarks>
    /// <exception cref="MuJoCoException">Always: the trapped error, carrying <paramref name="message"/>.</exception>
    public static void RaiseTestError(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        EnsureInitialized();
        Check(NativeMethods.RaiseError(message), "mju_error");
    }

    /// <summary>Runs a guarded shim call and turns its error code into a <see cref="MuJoCoException"/>.</summary>
    internal static void Check(int rc, string what)
    {
        if (rc != 0) throw new MuJoCoException($"MuJoCo error in {what}: {NativeMethods.Message(NativeMethods.LastError())}");
    }
}
