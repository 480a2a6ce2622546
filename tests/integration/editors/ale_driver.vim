" Drive Vim + ALE as an LSP client of Ladder (optional peer).
"   LADDER_VIM_CONFIG=cfg.json vim -N -u NONE -i NONE -n -es -S ale_driver.vim
" cfg.json: { file, snippet, title, select, result, ladder_stderr, verdict_timeout }.
" ALE answers no workspace/applyEdit (it applies the edit, then stays silent), so the driver
" waits for Ladder's verdict in Ladder's log, saves if the buffer changed, and reports.
let s:out = {'menu': [], 'steps': []}
let s:cfg = json_decode(join(readfile($LADDER_VIM_CONFIG), "\n"))

function! s:Finish(code) abort
  call writefile([json_encode(s:out)], s:cfg.result)
  execute a:code == 0 ? 'qall!' : ('cquit ' . a:code)
endfunction

function! s:Wait(seconds, cond) abort
  let l:deadline = reltimefloat(reltime()) + a:seconds
  while !eval(a:cond) && reltimefloat(reltime()) < l:deadline
    sleep 20m
  endwhile
  return eval(a:cond)
endfunction

let s:linted = 0
function! s:LintOnceChanged() abort
  if !s:linted && getline(1, '$') != s:before
    let s:linted = 1
    ALELint
    call add(s:out.steps, 'ALELint after the edit')
  endif
  return 1
endfunction

function! s:Main() abort
  set nocompatible
  filetype plugin on
  execute 'source ' . fnameescape(s:cfg.snippet)
  " The menu: ALE asks 'Type number and <Enter>' through ale#util#Input.
  runtime autoload/ale/util.vim
  function! ale#util#Input(message, value, ...) abort
    let l:titles = map(split(a:message, "\n")[1:-2], {_, v -> substitute(v, '^\d\+) ', '', '')})
    let s:out.menu = l:titles
    let l:index = index(l:titles, s:cfg.title)
    return l:index < 0 ? '' : string(l:index + 1)
  endfunction
  execute 'edit ' . fnameescape(s:cfg.file)
  let s:before = getline(1, '$')
  let l:sel = s:cfg.select
  if has_key(l:sel, 'text')
    let l:col = stridx(getline(l:sel.line + 1), l:sel.text) + 1
    call setpos("'<", [0, l:sel.line + 1, l:col, 0])
    call setpos("'>", [0, l:sel.line + 1, l:col + len(l:sel.text) - 1, 0])
  else
    call setpos("'<", [0, l:sel.first_line + 1, 1, 0])
    call setpos("'>", [0, l:sel.last_line + 1, len(getline(l:sel.last_line + 1)), 0])
  endif
  '<,'>ALECodeAction
  call add(s:out.steps, 'ALECodeAction sent')
  " Ladder's verdict (one window/showMessage) ends every run; with ALE it comes only after
  " Ladder's wait for the applyEdit answer that ALE never sends.
  " In a real session the edit fires TextChanged and ALE lints, sending didChange; Ex mode
  " fires no TextChanged, so the driver lints once the edit is in the buffer.
  let s:log = s:cfg.ladder_stderr
  let s:out.verdict_seen = s:Wait(s:cfg.verdict_timeout,
  \ 's:LintOnceChanged() && filereadable(s:log) && '
  \ . 'match(readfile(s:log), "window/showMessage") >= 0')
  let s:out.changed = getline(1, '$') != s:before
  let s:out.modified = &modified
  if &modified
    write
  endif
  let s:out.lines = getline(1, '$')
  call s:Finish(0)
endfunction

try
  call s:Main()
catch
  let s:out.error = v:exception . ' @ ' . v:throwpoint
  call s:Finish(3)
endtry
