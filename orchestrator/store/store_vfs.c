/*
 * store_vfs.c - the write connection's VFS: the default one, except that
 * the frames a commit appends to the WAL go down in one write(2).
 *
 * SQLite writes each WAL frame as its 24-byte header and then its page,
 * two pwrite calls at adjacent offsets, frame after frame; a commit of the
 * task path writes several frames, and on a small virtual machine a
 * system call is a large part of the cost of a commit.  This VFS opens
 * every file through the default VFS and, for WAL files only, gathers a
 * run of adjacent writes that starts with a frame header in a buffer, and
 * writes the buffer when the page of a commit frame (a header whose
 * "database size after commit" field is not 0) has joined it.  Anything
 * else first writes what is gathered: a write elsewhere (SQLite may
 * rewrite a frame of the same transaction in place), a read, a sync, a
 * size, a truncate, a lock, a file control, close, or WAL_BUF_MAX bytes
 * gathered (a large transaction then costs a write per 64 KB).  So the file holds the same bytes in the same order before
 * anything can observe them: a frame becomes visible to readers only
 * through the wal-index, which SQLite updates after the commit frame's
 * write has returned, and a sync always follows the writes it covers.
 * What a commit promises does not change: its frames are in the file
 * (the kernel's page cache) when COMMIT returns, as before.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

#define FRAME_HDR	24	/* a WAL frame header (the WAL header is 32) */
#define WAL_BUF_MAX	(64 * 1024)

struct wal_file {
	sqlite3_file base;		/* pMethods = &wal_io */
	sqlite3_file *real;		/* the default VFS's file, after us */
	unsigned char *buf;		/* gathered writes, from buf_off */
	size_t len, cap;
	sqlite3_int64 buf_off;
	bool commit_hdr;		/* the last header gathered is a
					   commit frame's */
};

static const sqlite3_io_methods wal_io;

/* The unix VFS writes at most 128 KB - 1 in one call (it masks the
 * length), so what is gathered goes down in pieces of WAL_BUF_MAX. */
static int release(struct wal_file *f)
{
	int rc = SQLITE_OK;

	for (size_t done = 0; done < f->len && rc == SQLITE_OK;) {
		size_t n = f->len - done < WAL_BUF_MAX ? f->len - done :
		    WAL_BUF_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
		    f->buf_off + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	f->commit_hdr = false;
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

static void gather(struct wal_file *f, const void *data, size_t amt,
    sqlite3_int64 off)
{
	if (f->len == 0)
		f->buf_off = off;
	if (f->len + amt > f->cap) {
		f->cap = f->len + amt > 2 * f->cap ? f->len + amt : 2 * f->cap;
		f->buf = xrealloc(f->buf, f->cap);
	}
	memcpy(f->buf + f->len, data, amt);
	f->len += amt;
}

static int w_write(sqlite3_file *p, const void *data, int amt,
    sqlite3_int64 off)
{
	struct wal_file *f = (struct wal_file *)p;
	const unsigned char *b = data;
	bool adjacent = f->len > 0 && off == f->buf_off + (sqlite3_int64)f->len;
	int rc;

	if (amt <= 0)
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	if (!adjacent && (rc = release(f)) != SQLITE_OK)
		return rc;
	if (amt == FRAME_HDR) {
		gather(f, data, FRAME_HDR, off);
		/* Bytes 4-7: the database size after a commit, 0 in the
		 * other frames of a transaction. */
		f->commit_hdr = (b[4] | b[5] | b[6] | b[7]) != 0;
		return SQLITE_OK;
	}
	if (!adjacent)
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	gather(f, data, (size_t)amt, off);
	if (f->commit_hdr || f->len >= WAL_BUF_MAX)
		return release(f);
	return SQLITE_OK;
}

/* Every other method writes what is gathered first, then forwards. */
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
