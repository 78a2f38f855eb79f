/*
 * observe.c - the list of observers of a delivery and the one way events
 * reach them (see observe.h).
 */
#include "config.h"
#include "observe.h"

int tr_observe_add(tr_observers *obs, tr_observe_fn fn, void *arg)
{
	if (obs->n >= TR_OBSERVERS_MAX)
		return -1;
	obs->o[obs->n].fn = fn;
	obs->o[obs->n].arg = arg;
	obs->n++;
	return 0;
}

void tr_emit(const tr_observers *obs, const tr_event *ev)
{
	if (obs == NULL)
		return;
	for (int i = 0; i < obs->n; i++)
		obs->o[i].fn(obs->o[i].arg, ev);
}
