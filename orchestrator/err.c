/*
 * err.c - see err.h.  The codes are the API's "error.code" words, which
 * clients match on, so they never change.
 */
#include "err.h"

const char *rm_err_code(int err)
{
	switch (err) {
	case RM_EINVAL:
		return "invalid_value";
	case RM_ENOENT:
		return "not_found";
	case RM_ECONFLICT:
	case RM_EBUSY:
	case RM_EEXIST:
		return "conflict";
	case RM_EUNAVAIL:
		return "unavailable";
	case RM_ESTORAGE:
		return "storage_unavailable";
	case RM_EUNAUTH:
		return "unauthorized";
	case RM_EFORBIDDEN:
		return "forbidden";
	default:
		return "internal";
	}
}
