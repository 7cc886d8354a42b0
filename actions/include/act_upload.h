/*
 * act_upload.h - putting a task's files into the bucket (SPEC section 4).
 *
 *   upload   params {"bucket": NAME, "files": [{"path": FILE, "key": KEY,
 *            "content_type": TYPE (optional)}, ...]}: put each file, in
 *            order (the machine lists .progress.zip last).  Result
 *            {"uploaded": N}.  A file that is gone is error.execution; a
 *            transport failure error.io (the whole list is put again).
 */
#ifndef ACT_UPLOAD_H
#define ACT_UPLOAD_H

struct sm_engine;
struct act_ctx;

int act_upload_register(struct sm_engine *e, struct act_ctx *ctx);

#endif
