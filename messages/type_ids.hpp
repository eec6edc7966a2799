#pragma once

#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "messages/data_page.hpp"
#include "messages/row_batch.hpp"
#include "messages/source_check.hpp"
#include "messages/source_info.hpp"
#include "messages/stage_report.hpp"
#include "messages/sync_status.hpp"
#include "messages/webhook_delivery.hpp"
#include "sources/source_spec.hpp"

// The vocabulary's atoms and message types, with stable type IDs. Every node
// registers this block (sheetsync_config), so messages can cross nodes; a node
// built from another vocabulary has other IDs and names and fails the handshake.
CAF_BEGIN_TYPE_ID_BLOCK(sheetsync, caf::first_custom_type_id)

  // -- message types ----------------------------------------------------------

  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::sync_status))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::sync_state))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::stage_report))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::stage))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::row_batch))
  CAF_ADD_TYPE_ID(sheetsync, (std::vector<sheetsync::sync_status>))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::data_page))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::source_info))
  CAF_ADD_TYPE_ID(sheetsync, (std::vector<sheetsync::source_info>))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::source_spec))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::source_check))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::tab_info))

  // -- control ---------------------------------------------------------------

  CAF_ADD_ATOM(sheetsync, sheetsync::atom, start, "start")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, status, "status")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, cancel, "cancel")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, subscribe, "subscribe")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, last, "last")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, data, "data")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, sources, "sources")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, history, "history")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, token, "token")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, ready, "ready")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, update, "update")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, check, "check")

  // -- progress and results of the stages -------------------------------------

  CAF_ADD_ATOM(sheetsync, sheetsync::atom, progress, "progress")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, failed, "failed")

  // -- data plane -------------------------------------------------------------

  CAF_ADD_ATOM(sheetsync, sheetsync::atom, chunk, "chunk")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, batch, "batch")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, eof, "eof")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, commit, "commit")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, step, "step")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, checkpoint, "checkpoint")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, tab, "tab")

  // -- timers -----------------------------------------------------------------

  CAF_ADD_ATOM(sheetsync, sheetsync::atom, evict, "evict")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, forget, "forget")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, deadline, "deadline")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, sweep, "sweep")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, keepalive, "keepalive")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, retry, "retry")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, tick, "tick")

  // -- webhooks ---------------------------------------------------------------

  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::webhook_state))
  CAF_ADD_TYPE_ID(sheetsync, (sheetsync::webhook_delivery))
  CAF_ADD_TYPE_ID(sheetsync, (std::vector<sheetsync::webhook_delivery>))
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, webhooks, "webhooks")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, post, "post")
  CAF_ADD_ATOM(sheetsync, sheetsync::atom, metrics, "metrics")

CAF_END_TYPE_ID_BLOCK(sheetsync)
