" Ladder in Vim with ALE (tested: Vim 9.0 + ALE 3.3): Ladder as an LSP 'linter' for Python.
packadd ale
call ale#linter#Define('python', {
\   'name': 'ladder',
\   'lsp': 'stdio',
\   'executable': 'ladder-lsp',
\   'command': '%e',
\   'project_root': {buffer -> fnamemodify(bufname(buffer), ':p:h')},
\   'initialization_options': {
\       'local': {'baseUrl': 'http://localhost:1234/v1'},
\       'edits': {'applyEdit': 'always'},
\   },
\})
let g:ale_linters = {'python': ['ladder']}
" ALE applies the server's edits but declares workspace.applyEdit false: 'always' sends them.
" Select code, then :ALECodeAction (ALE lists the actions and asks for a number).
