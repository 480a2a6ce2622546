-- Drive Neovim (0.7+, headless) as a real LSP client of Ladder, the way a user would.
--
--   LADDER_NVIM_CONFIG=cfg.json nvim --headless -u NONE -i NONE -n -c "luafile nvim_driver.lua"
--
-- cfg.json: { file, snippet, mode ("ui" | "raw"), title, select, result, timeout_ms }.
-- snippet is the README's Neovim 0.7 configuration (snippets/neovim-0.7.lua) with the model
-- server's URL filled in; it starts Ladder when the Python file is opened. select is
-- { line, text } (a partial-line selection of `text` on a 0-based line) or
-- { first_line, last_line } (whole lines, 0-based, inclusive).
--
-- "ui":  select the code (v / V) and press the snippet's mapping (\la →
--        vim.lsp.buf.range_code_action); vim.ui.select is answered by this script, and Neovim
--        runs the chosen action's command itself.
-- "edit": select the code and press the snippet's \le; vim.ui.input is answered with
--        cfg.instruction by this script, and the snippet sends `ladder.run` with it.
-- "raw": client.request_sync('textDocument/codeAction'), then 'workspace/executeCommand'.
-- Either way Neovim's own workspace/applyEdit handler applies the edit; then :write.
-- Everything observed goes to cfg.result as JSON; the script always quits.

local out = { steps = {}, progress = {}, messages = {}, logs = {}, applied = {}, menu = {} }
local cfg

local function step(s)
  table.insert(out.steps, s)
end

local function finish(code)
  if cfg and cfg.result then
    local f = io.open(cfg.result, 'w')
    if f then
      f:write(vim.fn.json_encode(out))
      f:close()
    end
  end
  if code == 0 then
    vim.cmd('qall!')
  else
    vim.cmd('cquit ' .. code)
  end
end

local function wait(ms, predicate, what)
  if not vim.wait(ms, predicate, 10) then
    error('timed out waiting for ' .. what, 0)
  end
end

local function main()
  cfg = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('LADDER_NVIM_CONFIG')), '\n'))
  out.nvim_version = vim.version()
  vim.lsp.set_log_level('debug')
  out.lsp_log = vim.lsp.get_log_path()

  -- a hard stop in case anything below never returns to the event loop's callers
  vim.defer_fn(function()
    out.error = 'driver deadline passed'
    finish(4)
  end, cfg.timeout_ms * 3)

  -- Record what the server sends, then let Neovim's own handlers do their work.
  local default = {}
  local function wrap(method, record)
    default[method] = vim.lsp.handlers[method]
    vim.lsp.handlers[method] = function(err, result, ctx, config)
      local response = default[method] and default[method](err, result, ctx, config)
      record(err, result, response)
      return response
    end
  end
  wrap('$/progress', function(_, result)
    table.insert(out.progress, result)
  end)
  wrap('window/showMessage', function(_, result)
    table.insert(out.messages, result)
  end)
  wrap('window/logMessage', function(_, result)
    table.insert(out.logs, result)
  end)
  wrap('workspace/applyEdit', function(_, result, response)
    table.insert(out.applied, { params = result, response = response })
  end)
  wrap('workspace/executeCommand', function(err, result)
    out.command_error = err
    out.command_result = result
    out.command_done = true
  end)

  -- The user's configuration: the README snippet, verbatim but for the model server's URL.
  vim.cmd('filetype on')
  dofile(cfg.snippet)
  vim.cmd('edit ' .. vim.fn.fnameescape(cfg.file)) -- FileType python: the snippet starts Ladder
  local bufnr = vim.api.nvim_get_current_buf()
  out.filetype = vim.api.nvim_buf_get_option(bufnr, 'filetype')
  local client
  wait(cfg.timeout_ms, function()
    for _, c in ipairs(vim.lsp.buf_get_clients(bufnr)) do
      if c.name == 'ladder' and c.initialized then
        client = c
      end
    end
    return client
  end, 'the snippet to start Ladder and attach it to the buffer')
  step('initialized; offset encoding ' .. tostring(client.offset_encoding))
  out.offset_encoding = client.offset_encoding

  -- the selection, as mark-indexed positions ({1-based row, 0-based byte column}, inclusive)
  local sel = cfg.select
  local start_pos, end_pos
  if sel.text then
    local line = vim.api.nvim_buf_get_lines(bufnr, sel.line, sel.line + 1, true)[1]
    local s = string.find(line, sel.text, 1, true)
    assert(s, 'selection text not found on line ' .. sel.line)
    start_pos = { sel.line + 1, s - 1 }
    end_pos = { sel.line + 1, s - 1 + #sel.text - 1 }
  else
    local last = vim.api.nvim_buf_get_lines(bufnr, sel.last_line, sel.last_line + 1, true)[1]
    start_pos = { sel.first_line + 1, 0 }
    end_pos = { sel.last_line + 1, math.max(#last - 1, 0) }
  end
  local started = vim.loop.hrtime() -- the round trip: code actions → run → edit applied → answer
  if cfg.mode == 'ui' or cfg.mode == 'edit' then
    vim.ui.input = function(opts, on_confirm)
      out.input_prompt = opts.prompt
      on_confirm(cfg.instruction)
    end
    vim.ui.select = function(items, opts, on_choice)
      local chosen
      for i, item in ipairs(items) do
        local label = opts.format_item and opts.format_item(item) or tostring(item)
        table.insert(out.menu, label)
        if label == cfg.title then
          chosen = i
        end
      end
      step('menu offered ' .. #items .. ' items; choosing ' .. tostring(chosen))
      if not chosen then
        out.error = 'title not in the menu: ' .. cfg.title
        on_choice(nil, nil)
        return
      end
      on_choice(items[chosen], chosen)
    end
    -- select as a user would (v for a piece of a line, V for whole lines), then press the
    -- snippet's mapping: it runs vim.lsp.buf.range_code_action() on the selection
    local keys
    if sel.text then
      vim.api.nvim_win_set_cursor(0, { start_pos[1], start_pos[2] })
      local chars = vim.fn.strchars(sel.text)
      keys = 'v' .. (chars > 1 and ((chars - 1) .. 'l') or '')
    else
      vim.api.nvim_win_set_cursor(0, { start_pos[1], 0 })
      local more = sel.last_line - sel.first_line
      keys = 'V' .. (more > 0 and (more .. 'j') or '')
    end
    local leader = vim.g.mapleader or '\\'
    out.keys = keys .. leader .. (cfg.mode == 'edit' and 'le' or 'la')
    vim.api.nvim_feedkeys(out.keys, 'mx', false)
    out.request_range = vim.lsp.util.make_given_range_params(
      nil, nil, bufnr, client.offset_encoding).range
    wait(cfg.timeout_ms, function()
      return out.command_done or out.error
    end, 'the code action to run')
    if out.error then
      error(out.error, 0)
    end
  else
    local params = vim.lsp.util.make_given_range_params(
      start_pos, end_pos, bufnr, client.offset_encoding)
    params.context = { diagnostics = {} }
    out.request_range = params.range
    local resp = client.request_sync('textDocument/codeAction', params, cfg.timeout_ms, bufnr)
    assert(resp and not resp.err, 'textDocument/codeAction failed: ' .. vim.inspect(resp))
    local action
    for _, a in ipairs(resp.result or {}) do
      table.insert(out.menu, a.title)
      if a.title == cfg.title and not action then
        action = a
      end
    end
    assert(action, 'title not offered: ' .. cfg.title)
    local command = type(action.command) == 'table' and action.command or action
    local r = client.request_sync('workspace/executeCommand', {
      command = command.command,
      arguments = command.arguments,
    }, cfg.timeout_ms, bufnr)
    assert(r and not r.err, 'workspace/executeCommand failed: ' .. vim.inspect(r))
    out.command_result = r.result
    out.command_done = true
  end
  out.round_trip_ms = (vim.loop.hrtime() - started) / 1e6
  step('command answered')

  out.modified = vim.api.nvim_buf_get_option(bufnr, 'modified')
  vim.cmd('write')
  out.lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
  step('written')
  vim.lsp.stop_client(client.id)
  vim.wait(5000, function()
    return client.is_stopped()
  end, 20)
  finish(0)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  out.error = tostring(err)
  finish(3)
end
