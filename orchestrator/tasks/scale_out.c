/*
 * scale_out.c - see scale_out.h.
 */
#include "scale_out.h"

#include "../engine/task.h"

int scale_out_register(struct task_engine *e, char *err, size_t errlen)
{
	(void)e;
	(void)err;
	(void)errlen;
	return 0;
}
