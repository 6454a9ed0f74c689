/*
 * store_vfs.c - the write connection's VFS: the default one, except that
 * a frame written to the WAL costs one write(2) instead of two.
 *
 * SQLite writes each WAL frame as its 24-byte header and then its page,
 * two pwrite calls at adjacent offsets; a commit of the task path writes
 * a few frames, and on a small virtual machine a system call is a large
 * part of the cost of a commit.  This VFS opens every file through the
 * default VFS and, for WAL files only, holds a 24-byte write back until
 * the next call on the file: when that is the page right after it, both
 * go down in one write; anything else (another write, a read, a sync, a
 * size, a lock, close) writes the held header first.  So the file sees
 * the same bytes in the same order before anything can observe them (a
 * frame becomes visible to readers only through the wal-index, after the
 * whole commit is written; a sync always follows the writes it covers).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

#define FRAME_HDR	24	/* a WAL frame header (the WAL header is 32) */

struct wal_file {
	sqlite3_file base;		/* pMethods = &wal_io */
	sqlite3_file *real;		/* the default VFS's file, after us */
	sqlite3_int64 held_off;		/* < 0: nothing held */
	unsigned char held[FRAME_HDR];
	unsigned char *buf;		/* header + page, for the joined write */
	size_t bufcap;
};

static const sqlite3_io_methods wal_io;

static int release(struct wal_file *f)
{
	int rc;

	if (f->held_off < 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->held, FRAME_HDR,
	    f->held_off);
	f->held_off = -1;
	return rc;
}

static int w_close(sqlite3_file *p)
{
	struct wal_file *f = (struct wal_file *)p;
	int rc = release(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_write(sqlite3_file *p, const void *data, int amt,
    sqlite3_int64 off)
{
	struct wal_file *f = (struct wal_file *)p;
	int rc;

	if (f->held_off >= 0 && off == f->held_off + FRAME_HDR && amt > 0) {
		size_t need = FRAME_HDR + (size_t)amt;

		if (need > f->bufcap) {
			f->buf = xrealloc(f->buf, need);
			f->bufcap = need;
		}
		memcpy(f->buf, f->held, FRAME_HDR);
		memcpy(f->buf + FRAME_HDR, data, (size_t)amt);
		off = f->held_off;
		f->held_off = -1;
		return f->real->pMethods->xWrite(f->real, f->buf, (int)need,
		    off);
	}
	if ((rc = release(f)) != SQLITE_OK)
		return rc;
	if (amt == FRAME_HDR) {
		memcpy(f->held, data, FRAME_HDR);
		f->held_off = off;
		return SQLITE_OK;
	}
	return f->real->pMethods->xWrite(f->real, data, amt, off);
}

/* Every other method writes what is held first, then forwards. */
#define REAL(p)	(((struct wal_file *)(p))->real)
#define RELEASE_OR_RETURN(p) do {					\
	int rc_ = release((struct wal_file *)(p));			\
	if (rc_ != SQLITE_OK)						\
		return rc_;						\
} while (0)

static int w_read(sqlite3_file *p, void *buf, int amt, sqlite3_int64 off)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xRead(REAL(p), buf, amt, off);
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xTruncate(REAL(p), size);
}

static int w_sync(sqlite3_file *p, int flags)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xSync(REAL(p), flags);
}

static int w_size(sqlite3_file *p, sqlite3_int64 *size)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xFileSize(REAL(p), size);
}

static int w_lock(sqlite3_file *p, int lock)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xLock(REAL(p), lock);
}

static int w_unlock(sqlite3_file *p, int lock)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xUnlock(REAL(p), lock);
}

static int w_reserved(sqlite3_file *p, int *out)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}

static int w_fcntl(sqlite3_file *p, int op, void *arg)
{
	RELEASE_OR_RETURN(p);
	return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int w_sector(sqlite3_file *p)
{
	return REAL(p)->pMethods->xSectorSize(REAL(p));
}

static int w_devchar(sqlite3_file *p)
{
	return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}

static int w_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p,
    int flags, int *out_flags)
{
	struct wal_file *f = (struct wal_file *)p;
	sqlite3_vfs *r = vfs->pAppData;
	int rc;

	if (!(flags & SQLITE_OPEN_WAL))
		return r->xOpen(r, name, p, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->held_off = -1;
	rc = r->xOpen(r, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->base.pMethods = NULL;
		return rc;
	}
	f->base.pMethods = &wal_io;
	return SQLITE_OK;
}

/* The rest of the VFS is the default one's; called with the default's
 * own handle, as it expects. */
static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xDelete(r, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xAccess(r, name, flags, out);
}

static int v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xFullPathname(r, name, n, out);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xRandomness(r, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xSleep(r, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xCurrentTime(r, out);
}

static int v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xGetLastError(r, n, out);
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *r = vfs->pAppData;

	return r->xCurrentTimeInt64(r, out);
}

static const sqlite3_io_methods wal_io = {
	.iVersion = 1,
	.xClose = w_close, .xRead = w_read, .xWrite = w_write,
	.xTruncate = w_truncate, .xSync = w_sync, .xFileSize = w_size,
	.xLock = w_lock, .xUnlock = w_unlock,
	.xCheckReservedLock = w_reserved, .xFileControl = w_fcntl,
	.xSectorSize = w_sector, .xDeviceCharacteristics = w_devchar,
};

/*
 * Once per process (SQLite keeps its VFSes in a process-wide list): the
 * VFS lives on the heap for the life of the process, the default VFS in
 * its pAppData.
 */
int store_vfs_register(void)
{
	sqlite3_vfs *r = sqlite3_vfs_find(NULL), *v;

	if (r == NULL || r->iVersion < 2)
		return -1;
	v = xcalloc(1, sizeof(*v));
	*v = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct wal_file) + r->szOsFile,
		.mxPathname = r->mxPathname,
		.zName = STORE_VFS_NAME,
		.pAppData = r,
		.xOpen = w_open, .xDelete = v_delete, .xAccess = v_access,
		.xFullPathname = v_fullpath, .xRandomness = v_random,
		.xSleep = v_sleep, .xCurrentTime = v_time,
		.xGetLastError = v_lasterr, .xCurrentTimeInt64 = v_time64,
	};
	if (sqlite3_vfs_register(v, 0) != SQLITE_OK) {
		free(v);
		return -1;
	}
	return 0;
}
