# fish completion for regsweep: commands, options, repository names and repo:tag references
# read from the storage given by --root or --config (or the default root).

function __regsweep_storage
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        if contains -- $tokens[$i] --root --config --s3-endpoint --s3-region
            set -l next (math $i + 1)
            if test $next -le (count $tokens)
                echo $tokens[$i]
                echo $tokens[$next]
            end
        end
    end
end

function __regsweep_refs
    regsweep (__regsweep_storage) __complete refs (commandline -ct) 2>/dev/null
end

set -l commands ls report why rm gc prune policy apply fsck trash restore interactive
complete -c regsweep -f
complete -c regsweep -n "not __fish_seen_subcommand_from $commands" -a "$commands"
complete -c regsweep -l root -r -d 'the storage rootdirectory'
complete -c regsweep -l config -r -d 'the registry config.yml'
complete -c regsweep -l s3-endpoint -x -d 'with --root s3://...: the S3 endpoint URL'
complete -c regsweep -l s3-region -x -d 'with --root s3://...: the region to sign for'
complete -c regsweep -l registry-stopped -d 'S3: state that no registry serves this storage now'
complete -c regsweep -l registry -x -d 'online: the registry https://HOST:PORT, read over its API'
complete -c regsweep -s u -l username -x -d 'online: the user'
complete -c regsweep -s p -d 'online: ask for the password without echo'
complete -c regsweep -l password-stdin -d 'online: the password from stdin'
complete -c regsweep -l insecure -d 'online: do not verify the TLS certificate'
complete -c regsweep -l ca-cert -r -d 'online: trust this CA file'
complete -c regsweep -l page-size -x -d 'online: entries per catalog and tag page'
complete -c regsweep -l state-dir -x -a '(__fish_complete_directories)' -d 'online: the folder of lock, audit log and trash'
complete -c regsweep -l json -d 'one JSON document on stdout'
complete -c regsweep -s j -l jobs -x -d 'worker threads on a disk, connections on S3'
complete -c regsweep -s q -l quiet -d 'print only results and errors'
complete -c regsweep -l bytes -d 'sizes as exact byte counts'
complete -c regsweep -l protect -r -d 'references or digests nothing may delete'
complete -c regsweep -l color -x -a 'auto always never' -d 'colour: auto, always, never'
complete -c regsweep -s v -l verbose -d 'print more'
complete -c regsweep -s i -d 'the interactive menu'
complete -c regsweep -l version -d 'print the version'

complete -c regsweep -n '__fish_seen_subcommand_from ls rm report why' -a '(__regsweep_refs)'
complete -c regsweep -n '__fish_seen_subcommand_from report' -l csv -d 'CSV table'
for c in rm gc prune apply fsck restore interactive
    complete -c regsweep -n "__fish_seen_subcommand_from $c" -s n -l dry-run -d 'change nothing'
    complete -c regsweep -n "__fish_seen_subcommand_from $c" -l force -d 'ignore a live registry'
end
for c in rm gc prune apply fsck restore
    complete -c regsweep -n "__fish_seen_subcommand_from $c" -s y -l yes -d 'do not ask'
end
for c in rm gc prune fsck
    complete -c regsweep -n "__fish_seen_subcommand_from $c" -l plan-out -r -d 'write the plan to FILE'
end
complete -c regsweep -n '__fish_seen_subcommand_from rm' -l repository -x -a '(__regsweep_refs)' -d 'a whole repository'
complete -c regsweep -n '__fish_seen_subcommand_from rm' -l untag -d 'remove only the tag'
complete -c regsweep -n '__fish_seen_subcommand_from rm' -l break-index -d 'delete a child of an index a remaining tag names'
complete -c regsweep -n '__fish_seen_subcommand_from rm prune' -l no-referrers -d 'keep signatures and SBOMs'
complete -c regsweep -n '__fish_seen_subcommand_from restore' -l keep-newer -d 'keep items re-created since the run'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -s m -l delete-untagged -d 'also delete untagged manifests'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l min-age -x -d 'keep younger blobs'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l uploads-older-than -x -d 'delete older uploads'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l prune-empty-repos -d 'remove empty repositories'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l trash -d 'keep swept blobs in the trash'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l registry-bin -r -d 'run PATH garbage-collect'
complete -c regsweep -n '__fish_seen_subcommand_from gc' -l i-will-restart-the-registry -d 'sweep under a read-only registry, restart it after'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l repo -x -a '(__regsweep_refs)' -d 'repositories (glob)'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l match -x -d 'tags considered (regex)'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l keep -x -d 'tags never deleted (regex)'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l no-default-keep -d 'do not keep ^latest$'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l keep-last -x -d 'keep the N newest'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l older-than -x -d 'only older tags may go'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l untagged -d 'also delete untagged manifests'
complete -c regsweep -n '__fish_seen_subcommand_from prune' -l gc -d 'sweep blobs afterwards'
complete -c regsweep -n '__fish_seen_subcommand_from apply' -F
complete -c regsweep -n '__fish_seen_subcommand_from policy; and not __fish_seen_subcommand_from check' -a check -d 'validate a policy file, no storage needed'
complete -c regsweep -n '__fish_seen_subcommand_from check' -F
complete -c regsweep -n '__fish_seen_subcommand_from fsck' -a '(__regsweep_refs | string match -v "*:*")'
complete -c regsweep -n '__fish_seen_subcommand_from fsck' -l verify -d 'hash every blob'
complete -c regsweep -n '__fish_seen_subcommand_from trash; and not __fish_seen_subcommand_from ls empty' -a 'ls empty'
complete -c regsweep -n '__fish_seen_subcommand_from empty' -l older-than -x -d 'only older runs'
complete -c regsweep -n '__fish_seen_subcommand_from empty' -s n -l dry-run -d 'change nothing'
complete -c regsweep -n '__fish_seen_subcommand_from empty' -s y -l yes -d 'do not ask'
complete -c regsweep -n '__fish_seen_subcommand_from fsck' -l repair -d 'fix what is safe to fix'
complete -c regsweep -n '__fish_seen_subcommand_from fsck' -l upload-age -x -d 'older uploads and temp files may go'
