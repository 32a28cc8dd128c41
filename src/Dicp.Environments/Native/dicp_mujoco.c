/*
 * dicp_mujoco.c: a small C shim between Dicp (.NET) and MuJoCo 2.2.2.
 *
 * Why a shim:
 *  - MuJoCo's default error handler prints and calls exit(); a managed exception cannot unwind native frames.
 *    Every call that can raise a MuJoCo error runs under setjmp; the installed mju_user_error handler longjmps
 *    back to the innermost guard of the calling thread and the call returns an error code plus the message.
 *  - Struct layouts (mjModel, mjData) are read here, compiled against the installed headers, so the managed side
 *    never hard-codes field offsets: it asks for sizes and for pointers to the arrays it needs.
 *
 * Built by Dicp.Environments on first use with the machine's C compiler:
 *   cc -shared -fPIC -O2 -o libdicp_mujoco.so dicp_mujoco.c -lmujoco
 * (needs Debian's libmujoco2.2.2 and libmujoco-dev).
 */
#include <mujoco/mujoco.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DM_MSG 1024

static _Thread_local jmp_buf* dm_guard = NULL;
static _Thread_local char dm_error[DM_MSG];
static _Thread_local char dm_warning[DM_MSG];
static _Thread_local int dm_warnings = 0;

static void dm_on_error(const char* msg) {
  snprintf(dm_error, DM_MSG, "%s", msg ? msg : "unknown MuJoCo error");
  if (dm_guard) longjmp(*dm_guard, 1);
  /* No guard: an error outside a guarded call. Returning would let MuJoCo continue in a broken state. */
  fprintf(stderr, "dicp_mujoco: unguarded MuJoCo error: %s\n", dm_error);
  abort();
}

static void dm_on_warning(const char* msg) {
  snprintf(dm_warning, DM_MSG, "%s", msg ? msg : "unknown MuJoCo warning");
  dm_warnings++;
}

/* Installs the handlers (idempotent) and returns mj_version() (222 for MuJoCo 2.2.2). */
int dm_init(void) {
  mju_user_error = dm_on_error;
  mju_user_warning = dm_on_warning;
  return mj_version();
}

int dm_header_version(void) { return mjVERSION_HEADER; }

const char* dm_last_error(void) { return dm_error; }
const char* dm_last_warning(void) { return dm_warning; }
int dm_warning_count(void) { return dm_warnings; }

#define DM_GUARD_BEGIN            \
  jmp_buf env;                    \
  jmp_buf* saved = dm_guard;      \
  dm_error[0] = 0;                \
  if (setjmp(env) != 0) {         \
    dm_guard = saved;             \
    return -1;                    \
  }                               \
  dm_guard = &env;
#define DM_GUARD_END dm_guard = saved;

/* Loads an MJCF file. Returns 0 and *out on success, -1 with dm_last_error() otherwise. */
int dm_load_xml(const char* path, mjModel** out) {
  char err[DM_MSG];
  *out = NULL;
  err[0] = 0;
  DM_GUARD_BEGIN
  mjModel* m = mj_loadXML(path, NULL, err, DM_MSG);
  DM_GUARD_END
  /* The XML compiler swaps the global handlers while it runs; put ours back. */
  mju_user_error = dm_on_error;
  mju_user_warning = dm_on_warning;
  if (!m) {
    snprintf(dm_error, DM_MSG, "%s", err[0] ? err : "mj_loadXML failed");
    return -1;
  }
  *out = m;
  return 0;
}

/* Deep-copies a compiled model (each environment owns its copy; the XML is compiled once per scene). */
int dm_copy_model(const mjModel* src, mjModel** out) {
  *out = NULL;
  DM_GUARD_BEGIN
  mjModel* m = mj_copyModel(NULL, src);
  DM_GUARD_END
  if (!m) { snprintf(dm_error, DM_MSG, "mj_copyModel failed"); return -1; }
  *out = m;
  return 0;
}

/* Raises a MuJoCo error through mju_error under the guard: lets tests prove that errors are trapped. */
int dm_raise_error(const char* msg) {
  DM_GUARD_BEGIN
  mju_error(msg);
  DM_GUARD_END
  return 0;
}

int dm_make_data(const mjModel* m, mjData** out) {
  *out = NULL;
  DM_GUARD_BEGIN
  mjData* d = mj_makeData(m);
  DM_GUARD_END
  if (!d) { snprintf(dm_error, DM_MSG, "mj_makeData failed"); return -1; }
  *out = d;
  return 0;
}

void dm_free_model(mjModel* m) { if (m) mj_deleteModel(m); }
void dm_free_data(mjData* d) { if (d) mj_deleteData(d); }

int dm_step(const mjModel* m, mjData* d, int n) {
  DM_GUARD_BEGIN
  for (int i = 0; i < n; i++) mj_step(m, d);
  DM_GUARD_END
  return 0;
}

int dm_forward(const mjModel* m, mjData* d) {
  DM_GUARD_BEGIN
  mj_forward(m, d);
  DM_GUARD_END
  return 0;
}

int dm_reset_data(const mjModel* m, mjData* d) {
  DM_GUARD_BEGIN
  mj_resetData(m, d);
  DM_GUARD_END
  return 0;
}

/* Total count of mjData warnings (bad qacc, bad ctrl, ...) since the last reset: instability detection. */
int dm_data_warnings(const mjData* d) {
  int total = 0;
  for (int i = 0; i < mjNWARNING; i++) total += d->warning[i].number;
  return total;
}

int dm_name2id(const mjModel* m, int type, const char* name) { return mj_name2id(m, type, name); }

/* Object types for dm_name2id, so the managed side does not depend on enum values. */
int dm_obj_body(void) { return mjOBJ_BODY; }
int dm_obj_geom(void) { return mjOBJ_GEOM; }
int dm_obj_site(void) { return mjOBJ_SITE; }
int dm_obj_joint(void) { return mjOBJ_JOINT; }
int dm_eq_weld(void) { return mjEQ_WELD; }
int dm_neqdata(void) { return mjNEQDATA; }

/* Sizes. */
int dm_nq(const mjModel* m) { return m->nq; }
int dm_nv(const mjModel* m) { return m->nv; }
int dm_nu(const mjModel* m) { return m->nu; }
int dm_nbody(const mjModel* m) { return m->nbody; }
int dm_ngeom(const mjModel* m) { return m->ngeom; }
int dm_nsite(const mjModel* m) { return m->nsite; }
int dm_nmocap(const mjModel* m) { return m->nmocap; }
int dm_neq(const mjModel* m) { return m->neq; }
int dm_njnt(const mjModel* m) { return m->njnt; }
double dm_timestep(const mjModel* m) { return m->opt.timestep; }

/* Model arrays (writable: Meta-World edits model fields per environment). */
mjtNum* dm_body_pos(mjModel* m) { return m->body_pos; }      /* nbody x 3 */
mjtNum* dm_site_pos(mjModel* m) { return m->site_pos; }      /* nsite x 3 */
mjtNum* dm_eq_data(mjModel* m) { return m->eq_data; }        /* neq x mjNEQDATA */
int* dm_eq_type(mjModel* m) { return m->eq_type; }           /* neq */
int* dm_body_mocapid(mjModel* m) { return m->body_mocapid; } /* nbody */
int* dm_jnt_qposadr(mjModel* m) { return m->jnt_qposadr; }   /* njnt */
int* dm_jnt_dofadr(mjModel* m) { return m->jnt_dofadr; }     /* njnt */

/* Data arrays. */
mjtNum* dm_qpos(mjData* d) { return d->qpos; }             /* nq */
mjtNum* dm_qvel(mjData* d) { return d->qvel; }             /* nv */
mjtNum* dm_ctrl(mjData* d) { return d->ctrl; }             /* nu */
mjtNum* dm_mocap_pos(mjData* d) { return d->mocap_pos; }   /* nmocap x 3 */
mjtNum* dm_mocap_quat(mjData* d) { return d->mocap_quat; } /* nmocap x 4 */
mjtNum* dm_xpos(mjData* d) { return d->xpos; }             /* nbody x 3 */
mjtNum* dm_xquat(mjData* d) { return d->xquat; }           /* nbody x 4 */
mjtNum* dm_geom_xpos(mjData* d) { return d->geom_xpos; }   /* ngeom x 3 */
mjtNum* dm_geom_xmat(mjData* d) { return d->geom_xmat; }   /* ngeom x 9 */
mjtNum* dm_site_xpos(mjData* d) { return d->site_xpos; }   /* nsite x 3 */
mjtNum* dm_site_xmat(mjData* d) { return d->site_xmat; }   /* nsite x 9 */
double dm_time(const mjData* d) { return d->time; }
