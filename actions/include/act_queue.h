/*
 * act_queue.h - the incoming queues: resolving them, polling by priority,
 * the visibility heartbeat, deleting and releasing a task's message.
 *
 *   daemon_start   resolve (create when missing) every incoming queue's URL
 *                  into ctx->queue_urls; on the local backend also create
 *                  the bucket.  Result {"queues": N}.
 *   poll           one round while task slots are free (max_concurrent_tasks,
 *                  through ctx->hooks): sweep the queues in priority order
 *                  with wait 0 and take from the first that has messages;
 *                  when every queue answered empty: with exit_when_idle and
 *                  no task running, finish {"idle": true}; otherwise one
 *                  long poll (poll_wait) of the highest priority queue.
 *                  Every message goes to hooks.admit (which starts or
 *                  updates a task instance); one whose task is already final
 *                  is deleted again.  Result {"idle": false, "received": N}.
 *                  With no free slot it waits for act_queue_kick().
 *   visibility     at once, then every visibility_timeout/3 (at least 1 s) sets the
 *                  visibility of every message in flight (hooks.each_inflight)
 *                  to visibility_timeout; runs until cancelled.
 *   queue_delete   params {"queue_url", "receipt"}: delete the task's message
 *                  (hooks.receipt gives the current handle of the calling
 *                  instance when it changed).  Result {"deleted": true}.
 *   queue_release  the same params: visibility 0, the message goes back to
 *                  its queue.  Result {"released": true}.
 */
#ifndef ACT_QUEUE_H
#define ACT_QUEUE_H

struct sm_engine;
struct act_ctx;

int act_queue_register(struct sm_engine *e, struct act_ctx *ctx);

/* A task slot became free: a poll waiting for one goes on. */
void act_queue_kick(struct act_ctx *ctx);

#endif
