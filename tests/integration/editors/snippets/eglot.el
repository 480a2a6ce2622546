;; Ladder in Emacs with eglot (tested: Emacs 28.2 + eglot 1.9).
(require 'eglot)
(add-to-list 'eglot-server-programs
             '((python-mode python-ts-mode)
               . ("ladder-lsp" :initializationOptions
                  (:local (:baseUrl "http://localhost:1234/v1")))))
;; Ladder's edits arrive as workspace/applyEdit: apply them without a y/n prompt.
(setq eglot-confirm-server-initiated-edits nil)
;; eglot waits this long for the command that runs an action (default 10 s).
(setq jsonrpc-default-request-timeout 300)
(add-hook 'python-mode-hook #'eglot-ensure)
(add-hook 'python-ts-mode-hook #'eglot-ensure)
;; Select code, then M-x eglot-code-actions.
