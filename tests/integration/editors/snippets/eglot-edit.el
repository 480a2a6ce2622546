;; "Edit with local model…" in Emacs: select code, M-x ladder-edit, type what to do.
(defun ladder-edit (beg end instruction)
  "Ask Ladder to change the region as INSTRUCTION says."
  (interactive (list (region-beginning) (region-end) (read-string "Ladder, edit: ")))
  (eglot-execute-command
   (eglot-current-server) "ladder.run"
   (vector (list :action "edit"
                 :uri (eglot--path-to-uri (buffer-file-name))
                 :range (save-excursion
                          (list :start (eglot--pos-to-lsp-position beg)
                                :end (eglot--pos-to-lsp-position end)))
                 :instruction instruction))))
