using System.Runtime.InteropServices;

namespace Dicp.Environments.MuJoCo;

/// <summary>P/Invoke declarations of the <c>dicp_mujoco</c> shim (<c>Native/dicp_mujoco.c</c>).</summary>
/// <remarks>
/// The library name is resolved by <see cref="MuJoCoRuntime"/> to the shim it compiled (or found); nothing here
/// hard-codes a struct offset: sizes and array pointers come from shim accessors compiled against the installed headers.
/// </remarks>
internal static unsafe partial class NativeMethods
{
    internal const string Lib = "dicp_mujoco";

    [LibraryImport(Lib, EntryPoint = "dm_init")] internal static partial int Init();
    [LibraryImport(Lib, EntryPoint = "dm_header_version")] internal static partial int HeaderVersion();
    [LibraryImport(Lib, EntryPoint = "dm_last_error")] internal static partial nint LastError();
    [LibraryImport(Lib, EntryPoint = "dm_last_warning")] internal static partial nint LastWarning();
    [LibraryImport(Lib, EntryPoint = "dm_warning_count")] internal static partial int WarningCount();

    [LibraryImport(Lib, EntryPoint = "dm_load_xml", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LoadXml(string path, out nint model);
    [LibraryImport(Lib, EntryPoint = "dm_copy_model")] internal static partial int CopyModel(nint model, out nint copy);
    [LibraryImport(Lib, EntryPoint = "dm_raise_error", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int RaiseError(string message);
    [LibraryImport(Lib, EntryPoint = "dm_make_data")] internal static partial int MakeData(nint model, out nint data);
    [LibraryImport(Lib, EntryPoint = "dm_free_model")] internal static partial void FreeModel(nint model);
    [LibraryImport(Lib, EntryPoint = "dm_free_data")] internal static partial void FreeData(nint data);
    [LibraryImport(Lib, EntryPoint = "dm_step")] internal static partial int Step(nint model, nint data, int n);
    [LibraryImport(Lib, EntryPoint = "dm_forward")] internal static partial int Forward(nint model, nint data);
    [LibraryImport(Lib, EntryPoint = "dm_reset_data")] internal static partial int ResetData(nint model, nint data);
    [LibraryImport(Lib, EntryPoint = "dm_data_warnings")] internal static partial int DataWarnings(nint data);

    [LibraryImport(Lib, EntryPoint = "dm_name2id", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Name2Id(nint model, int type, string name);
    [LibraryImport(Lib, EntryPoint = "dm_obj_body")] internal static partial int ObjBody();
    [LibraryImport(Lib, EntryPoint = "dm_obj_geom")] internal static partial int ObjGeom();
    [LibraryImport(Lib, EntryPoint = "dm_obj_site")] internal static partial int ObjSite();
    [LibraryImport(Lib, EntryPoint = "dm_obj_joint")] internal static partial int ObjJoint();
    [LibraryImport(Lib, EntryPoint = "dm_eq_weld")] internal static partial int EqWeld();
    [LibraryImport(Lib, EntryPoint = "dm_neqdata")] internal static partial int NEqData();

    [LibraryImport(Lib, EntryPoint = "dm_nq")] internal static partial int Nq(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_nv")] internal static partial int Nv(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_nu")] internal static partial int Nu(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_nbody")] internal static partial int NBody(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_ngeom")] internal static partial int NGeom(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_nsite")] internal static partial int NSite(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_nmocap")] internal static partial int NMocap(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_neq")] internal static partial int NEq(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_njnt")] internal static partial int NJnt(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_timestep")] internal static partial double Timestep(nint m);

    [LibraryImport(Lib, EntryPoint = "dm_body_pos")] internal static partial double* BodyPos(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_site_pos")] internal static partial double* SitePos(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_eq_data")] internal static partial double* EqData(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_eq_type")] internal static partial int* EqType(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_body_mocapid")] internal static partial int* BodyMocapId(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_jnt_qposadr")] internal static partial int* JntQposAdr(nint m);
    [LibraryImport(Lib, EntryPoint = "dm_jnt_dofadr")] internal static partial int* JntDofAdr(nint m);

    [LibraryImport(Lib, EntryPoint = "dm_qpos")] internal static partial double* QPos(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_qvel")] internal static partial double* QVel(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_ctrl")] internal static partial double* Ctrl(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_mocap_pos")] internal static partial double* MocapPos(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_mocap_quat")] internal static partial double* MocapQuat(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_xpos")] internal static partial double* XPos(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_xquat")] internal static partial double* XQuat(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_geom_xpos")] internal static partial double* GeomXPos(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_geom_xmat")] internal static partial double* GeomXMat(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_site_xpos")] internal static partial double* SiteXPos(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_site_xmat")] internal static partial double* SiteXMat(nint d);
    [LibraryImport(Lib, EntryPoint = "dm_time")] internal static partial double Time(nint d);

    internal static string Message(nint utf8) => Marshal.PtrToStringUTF8(utf8) ?? "";
}
