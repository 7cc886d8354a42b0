/*
 * wide_parallel.h - the SCXML text of a parallel state with `regions`
 * regions (header-only; used by test_interp_wide and bench_interp).
 *
 *   <parallel id="p">                      every region:
 *     <state id="rI" initial="aI">           aI --go--> bI --back--> aI
 *       <state id="aI"> ... </state>         (transitions inside the region)
 *       <state id="bI"> ... </state>
 *     </state> ...
 *     <transition event="leave" target="out"/>   (one that exits them all)
 *   </parallel>
 *   <final id="out"/>
 *
 * With `conflicting`, aI's transition on "go" leaves the parallel (to the
 * final "out0") instead: every region's choice conflicts with every other
 * and the first in document order wins.
 *
 * Returns a malloc'd NUL-terminated document (caller frees) or NULL.
 */
#ifndef WIDE_PARALLEL_H
#define WIDE_PARALLEL_H

#include <stdio.h>
#include <stdlib.h>

__attribute__((unused)) static char *
wide_parallel_xml(int regions, int conflicting)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (f == NULL)
		return NULL;
	fputs("<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' initial='p'>"
	    "<parallel id='p'>", f);
	for (i = 0; i < regions; i++)
		fprintf(f, "<state id='r%d' initial='a%d'>"
		    "<state id='a%d'><transition event='go' target='%s%d'/></state>"
		    "<state id='b%d'><transition event='back' target='a%d'/></state></state>",
		    i, i, i, conflicting ? "out" : "b", conflicting ? 0 : i, i, i);
	fputs("<transition event='leave' target='out'/></parallel>"
	    "<final id='out'/><final id='out0'/></scxml>", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

#endif
