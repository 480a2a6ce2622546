-- Ladder in Neovim 0.7 (no vim.lsp.start yet): one client for all Python buffers.
local ladder_client_id
vim.api.nvim_create_autocmd('FileType', {
  pattern = { 'python' },
  callback = function(args)
    if not (ladder_client_id and vim.lsp.get_client_by_id(ladder_client_id)) then
      ladder_client_id = vim.lsp.start_client({
        name = 'ladder',
        cmd = { 'ladder-lsp' },
        root_dir = vim.fn.getcwd(),
        init_options = { ['local'] = { baseUrl = 'http://localhost:1234/v1' } },
      })
    end
    vim.lsp.buf_attach_client(args.buf, ladder_client_id)
  end,
})
-- Select code (v or V), then \la: Ladder's actions for the selection.
vim.keymap.set('x', '<leader>la', ':<C-u>lua vim.lsp.buf.range_code_action()<CR>')
-- Select code, then \le: "Edit with local model…" with your own instruction.
function _G.ladder_edit()
  local params = vim.lsp.util.make_given_range_params() -- the last visual selection
  vim.ui.input({ prompt = 'Ladder, edit: ' }, function(instruction)
    if not instruction or instruction:match('^%s*$') then
      return
    end
    vim.lsp.buf_request(0, 'workspace/executeCommand', {
      command = 'ladder.run',
      arguments = { {
        action = 'edit',
        uri = params.textDocument.uri,
        range = params.range,
        instruction = instruction,
      } },
    })
  end)
end
vim.keymap.set('x', '<leader>le', ':<C-u>lua ladder_edit()<CR>')
